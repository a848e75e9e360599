# Lakeline's single entry point. `make run` and `make test` set up everything they need.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
ENV := target/toolchain.env
# Source the toolchain environment written by scripts/toolchain.sh.
WITH_TOOLCHAIN := source $(ENV) &&
LEPTOS_BUILD := cargo leptos build $${LAKELINE_LIB_CARGO_ARGS:+--lib-cargo-args="$$LAKELINE_LIB_CARGO_ARGS"}

# The pieces of a split front end (make release); removed before each build, so that none is left
# beside a build that does not name it.
SPLIT_PIECES := target/site/pkg/chunk_* target/site/pkg/split_* target/site/pkg/__wasm_split*

.PHONY: run test build toolchain test-rust test-postgres test-browser check-test-logs release bench cml-application
# Where the tests write their servers' logs and the secrets they used (checked by check-test-logs).
TEST_LOGS := $(CURDIR)/target/test-logs

toolchain:
	@scripts/toolchain.sh

build: toolchain
	rm -f $(SPLIT_PIECES)
	$(WITH_TOOLCHAIN) $(LEPTOS_BUILD)
	scripts/precompress.sh target/site

## Build and start Lakeline at http://127.0.0.1:3000 on the embedded local workspace.
run: build
	LEPTOS_SITE_ROOT=target/site target/debug/lakeline

## Build, then run every test: Rust unit and integration tests (on SQLite, then Lakeline's own
## tests again on PostgreSQL), then the browser tests; then check that no password, session id or
## token appears in any log of the run.
test: build test-rust test-postgres test-browser check-test-logs

test-rust: toolchain
	rm -rf $(TEST_LOGS)/rust
	$(WITH_TOOLCHAIN) LAKELINE_TEST_LOG_DIR=$(TEST_LOGS)/rust cargo test --workspace

# Lakeline's unit and integration tests with its database on PostgreSQL: a server private to this
# checkout, installed when missing, started empty and stopped afterwards (scripts/postgres.sh).
test-postgres: toolchain
	scripts/postgres.sh start
	rm -rf $(TEST_LOGS)/postgres
	trap '$(CURDIR)/scripts/postgres.sh stop' EXIT; $(WITH_TOOLCHAIN) LAKELINE_TEST_POSTGRES="$$(scripts/postgres.sh url)" LAKELINE_TEST_LOG_DIR=$(TEST_LOGS)/postgres cargo test -p server

# The browser tests; the replicas' test needs the PostgreSQL server (started and stopped here).
test-browser: build
	@scripts/browser-deps.sh
	scripts/postgres.sh start
	rm -rf $(TEST_LOGS)/browser
	trap '$(CURDIR)/scripts/postgres.sh stop' EXIT; cd tests/browser && LAKELINE_TEST_POSTGRES="$$($(CURDIR)/scripts/postgres.sh url)" LAKELINE_TEST_LOG_DIR=$(TEST_LOGS)/browser LAKELINE_BIN=$(CURDIR)/target/debug/lakeline npm test

check-test-logs:
	scripts/check-test-logs.sh $(TEST_LOGS)

## An optimised build for production use (slow on small machines). Components are type-erased on
## both sides (Leptos' `erase_components`, as its debug builds do by default), and the front end is
## split at each lazily loaded page (app/src/lib.rs, `lazy_page!`): the first download holds what
## the pipeline page needs, the other pages' code comes when they are first shown.
release: toolchain
	rm -f $(SPLIT_PIECES)
	$(WITH_TOOLCHAIN) RUSTFLAGS="$${RUSTFLAGS:-} --cfg erase_components" $(LEPTOS_BUILD) --release --split
	scripts/precompress.sh target/site

## Lakeline as a CML Application: the optimised build laid out for the project that holds the
## pipeline (target/cml-application/lakeline.tar.gz; README, "Inside CML as an Application").
cml-application: release
	scripts/cml-application.sh target/cml-application target/release/lakeline target/site
	tar -czf target/cml-application/lakeline.tar.gz -C target/cml-application lakeline

## Benchmarks (print numbers, assert nothing): history with 10,000 runs in the store; History and a
## run's page under load over HTTP (wrk) on the optimised build, with memory and bundle sizes, and a
## cold browser's time until it can click Run pipeline; what
## serving the front end costs the server; what live pages cost the workspace (calls per minute idle
## and per chain for 0, 3 and 20 pages) and how fast changes reach them.
bench: build
	$(WITH_TOOLCHAIN) cargo bench -p server --bench history
	$(MAKE) release
	BENCH_BIN=target/release/lakeline python3 bench/http_load.py
	@scripts/browser-deps.sh
	BENCH_BIN=target/release/lakeline node bench/time_to_click.mjs
	$(MAKE) build
	python3 bench/static_assets.py
	python3 bench/live_cost.py
