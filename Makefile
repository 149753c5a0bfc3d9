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

clean:
	$(CARGO) clean
