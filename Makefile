# The README's two commands: `make run` and `make test`. Both install missing system packages first.

CARGO ?= cargo
STORE ?=

.PHONY: all deps build run test lint unit-tests data-check fuzz-smoke install-check reliability pot clean

all: build

deps:
	@scripts/install-deps

build: deps
	$(CARGO) build --release

## Build and start the app on the embedded store (or STORE=URI).
run: build
	./target/release/hindsight $(if $(STORE),--store $(STORE),)

## Every test of the workspace, with lints first, and the meson install last.
test: deps lint data-check unit-tests fuzz-smoke install-check

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

## Desktop file, metainfo and schema as distributions validate them; translations complete and up to date; the
## served hls.js is the locked release.
data-check:
	scripts/validate-data
	scripts/check-web

## The GUI tests need an X display (Xvfb) and, like a desktop, a D-Bus session bus.
unit-tests:
	dbus-run-session -- xvfb-run -a -s "-screen 0 1280x800x24" $(CARGO) test --workspace

## The Pravega tests need a real server: the unit tests run under scripts/with-pravega, which starts one
## (scripts/pravega-standalone), exports HINDSIGHT_PRAVEGA_CONTROLLER for them, and stops it afterwards even when
## they fail, keeping their exit status.
unit-tests: CARGO := scripts/with-pravega $(CARGO)

## Every fuzz target of the store for a few seconds (builds them first; needs the nightly toolchain).
fuzz-smoke:
	FUZZ_SECONDS=10 scripts/fuzz-smoke

## The reliability suite in full: 100 kills and 100 power cuts of a writer, 100 kills of a recorder, every fuzz
## target for 10 minutes.
## (`make test` runs the same tests with 20 rounds and 10 s of fuzzing.)
reliability: deps
	HINDSIGHT_RELIABILITY_ROUNDS=100 $(CARGO) test -p hindsight-store --test crash --test power_cut -- --nocapture
	HINDSIGHT_RELIABILITY_ROUNDS=100 $(CARGO) test --test reliability -- --nocapture
	FUZZ_SECONDS=600 scripts/fuzz-smoke

## meson setup, compile and install into a temporary directory; checks what was installed.
install-check:
	scripts/check-install

## Re-extract po/hindsight.pot from the sources and merge it into the translations.
pot:
	scripts/update-pot

## Only the store's conformance suite (embedded and Pravega), with its latency figures.
.PHONY: pravega-tests
pravega-tests:
	scripts/with-pravega $(CARGO) test -p hindsight-store --test conformance -- --nocapture

clean:
	$(CARGO) clean
