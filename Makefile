# The README's two commands: `make run` and `make test`. Both install missing system packages first.

CARGO ?= cargo
STORE ?=

.PHONY: all deps build run test lint unit-tests data-check clean

all: build

deps:
	@scripts/install-deps

build: deps
	$(CARGO) build --release

## Build and start the app on the embedded store (or STORE=URI).
run: build
	./target/release/hindsight $(if $(STORE),--store $(STORE),)

## Every test of the workspace, with lints first.
test: deps lint data-check unit-tests

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

data-check:
	scripts/validate-data

unit-tests:
	xvfb-run -a -s "-screen 0 1280x800x24" $(CARGO) test --workspace

## The Pravega tests need a real server: the unit tests run under scripts/with-pravega, which starts one
## (scripts/pravega-standalone), exports HINDSIGHT_PRAVEGA_CONTROLLER for them, and stops it afterwards even when
## they fail, keeping their exit status.
unit-tests: CARGO := scripts/with-pravega $(CARGO)

## Only the store's conformance suite (embedded and Pravega), with its latency figures.
.PHONY: pravega-tests
pravega-tests:
	scripts/with-pravega $(CARGO) test -p hindsight-store --test conformance -- --nocapture

clean:
	$(CARGO) clean
