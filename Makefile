# Licensor. `make run` starts the product; `make test` runs every test.
GO      ?= go
BIN     := bin/licensor
VERSION := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
GOLANGCI_LINT := github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v2.15.0
VENDOR_ASSETS := static/vendor/htmx.min.js static/vendor/pico.min.css

.PHONY: plugins all build run test test-short lint assets pg-up bench bench-downloads bench-heartbeats fuzz clean proto cluster-demo soak docs

all: build

## assets: fetch htmx and Pico CSS from npm (package-lock.json) into static/vendor
assets: $(VENDOR_ASSETS)

$(VENDOR_ASSETS): package.json package-lock.json scripts/build-assets.sh
	@command -v npm >/dev/null || { echo "npm is needed to build the web assets: apt-get install -y npm"; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	sh scripts/build-assets.sh

## build: compile bin/licensor and the shipped plugins
build: assets plugins
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./app/cmd/licensor

## plugins: build the shipped plugins into $(PLUGIN_DIR)/<name>/ with their
## manifests (each executable prints its own, with its sha256)
PLUGIN_DIR ?= bin/plugins
PLUGINS    := captcha-recaptcha import-xlsx orders-woocommerce orders-gumroad
plugins:
	@for p in $(PLUGINS); do \
		mkdir -p $(PLUGIN_DIR)/$$p && \
		$(GO) build -o $(PLUGIN_DIR)/$$p/$$p ./plugins/$$p && \
		(cd $(PLUGIN_DIR)/$$p && ./$$p manifest > manifest.json.tmp && mv manifest.json.tmp manifest.json) || exit 1; \
		echo "built $(PLUGIN_DIR)/$$p"; \
	done

## run: start Licensor (its own PostgreSQL under ./var unless a database URL is configured)
run: build
	@scripts/ensure-postgres.sh
	LICENSOR_PLUGINS_DIR=$${LICENSOR_PLUGINS_DIR:-$(PLUGIN_DIR)} ./$(BIN) serve

## test: go vet plus every test with the race detector, against a real PostgreSQL. test/cluster's
## tests mostly wait on processes of their own (outages, restarts, River's rescue), so they run beside
## the other packages instead of after them; their output follows the others'. The import rules of
## docs/architecture.md are checked by make lint (test/importrules with golangci-lint): building
## golangci-lint on a fresh machine takes minutes, more than make test's budget.
## -p 4: the packages' tests wait on PostgreSQL, processes and Chromium more than they compute (about 1.2 of
## 2 cores busy with the default -p 2), so four packages at once finish sooner: 7m54s -> 6m44s idle, 2026-12-07.
## -ldflags=-w: go test links every test binary again each run, and without DWARF (which only a debugger
## reads; failures' stacks and race reports come from the runtime's tables) app/admin's links in 4.3 s of
## CPU instead of 5.6 s.
test: assets pg-up
	$(GO) vet ./...
	@log=$$(mktemp); \
	$(GO) test -race -ldflags=-w -count=1 -timeout 20m ./test/cluster/ >$$log 2>&1 & cluster=$$!; \
	$(GO) test -race -ldflags=-w -count=1 -p 4 -timeout 20m $$($(GO) list ./... | grep -v '/test/cluster$$'); rest=$$?; \
	wait $$cluster; clustered=$$?; cat $$log; rm -f $$log; \
	test $$rest -eq 0 && test $$clustered -eq 0

## test-short: the fast loop while developing: every test except the multi-process cluster faults (test/cluster)
## and the browser tests (app/server/browsertest), which skip under -short; make test and .ci/run run them all
test-short: assets pg-up
	$(GO) test -short -count=1 -p 4 -timeout 10m ./...

## docs: rewrite the generated parts of docs/ (the API reference's tables, the settings table) from the code;
## go test ./docs/ (part of make test) fails while they are stale
docs:
	$(GO) test -count=1 -run TestGeneratedBlocks ./docs/ -update

## pg-up: make sure the PostgreSQL server the tests use is running
pg-up:
	@scripts/ensure-test-postgres.sh

## lint: golangci-lint with the import rules of docs/architecture.md, then the proof that
## each rule refuses a forbidden import added in a scratch copy (test/importrules)
lint: assets
	$(GO) vet ./...
	$(GO) run $(GOLANGCI_LINT) run --allow-parallel-runners ./...
	LICENSOR_GOLANGCI_LINT="$(GO) run $(GOLANGCI_LINT)" $(GO) test -count=1 ./test/importrules/

## bench: Go benchmarks, then the HTTP load script beside a bare Fiber endpoint and pgbench on the same server
## (its load generator is wrk when installed, apt-get install -y wrk, else a lean Go client: docs/benchmarks.md#load-generators)
## (BENCH_ROUNDS interleaved rounds of BENCH_DURATION per phase, medians; BENCH_ACTIVATIONS rows in the table)
BENCH_DURATION ?= 5s
BENCH_ROUNDS ?= 3
BENCH_ACTIVATIONS ?= 1000000
bench: build pg-up
	$(GO) test -run '^$$' -bench . -benchmem ./bench/...
	$(GO) test -count=1 -v -run 'TestAdminListScale|TestImportCustomersScale' ./bench/ -admin-rows 100000 -import-customers 100000
	$(GO) run ./bench/load -bin $(BIN) -duration $(BENCH_DURATION) -rounds $(BENCH_ROUNDS) -activations $(BENCH_ACTIVATIONS)

## proto: regenerate the plugins' gRPC code (protoc from Debian's protobuf-compiler;
## protoc-gen-go and protoc-gen-go-grpc are the versions pinned as tools in go.mod)
PROTOS := $(wildcard plugins/proto/*/v*/*.proto)
proto:
	@command -v protoc >/dev/null || { echo "protoc is needed: apt-get install -y protobuf-compiler"; exit 1; }
	protoc -I plugins/proto \
		--plugin=protoc-gen-go=$$($(GO) tool -n protoc-gen-go) \
		--plugin=protoc-gen-go-grpc=$$($(GO) tool -n protoc-gen-go-grpc) \
		--go_out=plugins/proto --go_opt=paths=source_relative \
		--go-grpc_out=plugins/proto --go-grpc_opt=paths=source_relative \
		$(PROTOS:plugins/proto/%=%)

## fuzz: every fuzz target for FUZZTIME each (default 1m); seed corpora already run in make test
FUZZTIME ?= 1m
fuzz:
	@FUZZTIME=$(FUZZTIME) GO=$(GO) scripts/fuzz.sh

## soak: two nodes under a mixed load (88% verify, 5% activate, 5% deactivate, console and portal pages);
## prints throughput, latency, errors and each node's memory after the warm-up and at the end
SOAK_DURATION ?= 10m
soak: build pg-up
	$(GO) run ./bench/load -bin $(BIN) -soak $(SOAK_DURATION)

## bench-downloads: a 1 GB update download through bin/licensor with the server's RSS growth (target < 20 MB),
## then DOWNLOAD_ROUNDS interleaved rounds of verify alone and beside 50 concurrent downloads, DOWNLOAD_PHASE each,
## compared by their medians (target: at most 20% slower); each download capped at DOWNLOAD_RATE_KB as a client
## on a real link is (0: unthrottled over loopback, which is CPU-bound), read by a separate process at nice 19
DOWNLOAD_RATE_KB ?= 1024
DOWNLOAD_ROUNDS ?= 3
DOWNLOAD_PHASE ?= 4s
bench-downloads: build pg-up
	$(GO) run ./bench/load -bin $(BIN) -downloads -duration $(DOWNLOAD_PHASE) -warmup 500ms -rounds $(DOWNLOAD_ROUNDS) -download-rate-kb $(DOWNLOAD_RATE_KB)

## bench-heartbeats: verify through bin/licensor alone and beside a heartbeat storm (HEARTBEAT_ACTIVATIONS activations
## of a product with a 60 s interval sending HEARTBEAT_RATE heartbeats per second in all, from a separate process at
## nice 19), HEARTBEAT_ROUNDS interleaved rounds of HEARTBEAT_PHASE each, compared by their medians (target: at most 20% slower)
HEARTBEAT_ACTIVATIONS ?= 10000
HEARTBEAT_RATE ?= 1000
HEARTBEAT_ROUNDS ?= 3
HEARTBEAT_PHASE ?= 5s
bench-heartbeats: build pg-up
	$(GO) run ./bench/load -bin $(BIN) -heartbeats -duration $(HEARTBEAT_PHASE) -warmup 500ms -rounds $(HEARTBEAT_ROUNDS) -storm-activations $(HEARTBEAT_ACTIVATIONS) -heartbeat-rate $(HEARTBEAT_RATE)

## cluster-demo: two nodes on one PostgreSQL behind nginx on 127.0.0.1:8080 (docs/deploy.md)
cluster-demo: build
	@scripts/cluster-demo.sh

clean:
	rm -rf bin
