# Thin wrappers around scripts/; see the scripts for details.
SHELL := /bin/bash
FUZZTIME ?= 30s
# Minimising each new input with the default (60 s) stalls targets whose
# coverage keeps growing (x509 parsing under FuzzDecision).
FUZZMINIMIZETIME ?= 10x

.PHONY: demo check test build fuzz soak clean

## demo: build Caddy with the plugin, serve example.Caddyfile with a demo PKI, drive it with curl
demo:
	bash scripts/demo.sh

## check: the fast loop: gofmt, go vet, staticcheck and go test -short -race (no e2e, no bench)
check:
	bash scripts/check.sh

## test: gofmt, go vet, staticcheck, go test -race and the end-to-end demo check
test:
	bash scripts/test.sh

## build: build build/caddy with xcaddy (always rebuilds)
build:
	bash scripts/demo.sh --build

## fuzz: run every Fuzz* target of the root package for FUZZTIME (default 30s) each
fuzz:
	FUZZTIME=$(FUZZTIME) FUZZMINIMIZETIME=$(FUZZMINIMIZETIME) bash scripts/fuzz.sh

## bench: load benchmarks side by side (stock Caddy, CEL, nginx) and go test -bench; table in build/bench/results.md
.PHONY: bench
bench:
	bash bench/run.sh

## soak: run the soak test (SOAK_DURATION, default 60s): many mTLS clients while the config is reloaded
soak:
	bash scripts/soak.sh

## clean: remove build/ (the Caddy binary, demo PKI, logs, pinned tools)
clean:
	rm -rf build
