# tether: `make run` runs the chat, `make test` runs every test.
# Thin targets; each installs what it needs and is quiet when it is there.

GO        ?= go
ADDR      ?= localhost:8080
DATA      ?= ./data
BIN       := $(CURDIR)/bin
GOROOT    := $(shell $(GO) env GOROOT)
SUDO      := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
WASMBROWSERTEST_VERSION := v0.11.0
STATICCHECK_VERSION     := v0.8.2
# Packages whose tests also run compiled to wasm in headless Chromium.
WASM_TEST_PKGS := ./components/... ./conn/...

SHELL       := /bin/bash
.SHELLFLAGS := -o pipefail -c

.PHONY: run build wasm test lint test-go test-wasm e2e bench chromium node postgresql redis clean

## run: build everything and start the server in dev mode on $(ADDR)
run: build
	$(BIN)/tether -dev -addr $(ADDR) -data $(DATA)

## build: app.wasm, its compressed copies, and the server binary
build: wasm
	$(GO) build -trimpath -o $(BIN)/tether ./server

# The wasm is linked to a temporary file and moved into place only when it
# changed, so the slow brotli pass runs only for a new build. The compressed
# copies are removed first: a stale copy must never be served for a new wasm.
wasm:
	@mkdir -p $(BIN)
	@cmp -s "$(GOROOT)/lib/wasm/wasm_exec.js" wasm_exec/wasm_exec.js || \
		cp "$(GOROOT)/lib/wasm/wasm_exec.js" wasm_exec/wasm_exec.js
	GOOS=js GOARCH=wasm $(GO) build -trimpath -ldflags='-s -w' -o $(BIN)/app.wasm.new ./app/wasm
	@if cmp -s $(BIN)/app.wasm.new web/app.wasm; then rm $(BIN)/app.wasm.new; \
	else rm -f web/app.wasm.br web/app.wasm.gz && mv $(BIN)/app.wasm.new web/app.wasm; fi
	@[ -f web/app.wasm.br ] && [ -f web/app.wasm.gz ] || $(GO) run ./tools/precompress web/app.wasm

## test: every layer: lint, Go tests with -race, wasm tests in Chromium, Playwright
test: lint test-go test-wasm e2e

## lint: gofmt, then go vet and staticcheck for the native and the js/wasm targets
lint: $(BIN)/staticcheck
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './playwright/*')); \
		if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	GOOS=js GOARCH=wasm $(GO) vet ./...
	$(BIN)/staticcheck ./...
	GOOS=js GOARCH=wasm $(BIN)/staticcheck ./...

# Pinned, and rebuilt when the pin moves: the version is part of the name.
$(BIN)/staticcheck: $(BIN)/staticcheck-$(STATICCHECK_VERSION)
	ln -sf staticcheck-$(STATICCHECK_VERSION) $@
$(BIN)/staticcheck-$(STATICCHECK_VERSION):
	@mkdir -p $(BIN)/.staticcheck
	GOBIN=$(BIN)/.staticcheck $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	mv $(BIN)/.staticcheck/staticcheck $@

## test-go: native Go tests with the race detector (the server tests embed the built wasm)
# The PostgreSQL store's tests start a throwaway server of their own.
test-go: wasm postgresql
	$(GO) test -race -count=1 ./...

## test-wasm: Go tests compiled to wasm, run in headless Chromium
# The browser ports' tests talk to a real server: withserver starts one
# (dev tokens, the test backend, the test page's origin allowed) and names
# it in TETHER_TEST_URL. tools/wasmtest/run.sh runs them in Chromium (and
# once more only when Chromium did not start in time).
test-wasm: chromium build $(BIN)/wasmbrowsertest $(BIN)/withserver
	$(BIN)/withserver -server $(BIN)/tether -dev -faults -allowed-origins 'localhost:*,127.0.0.1:*' -- \
		tools/wasmtest/run.sh $(BIN)/wasmbrowsertest $(WASM_TEST_PKGS)

$(BIN)/withserver: tools/withserver/main.go
	$(GO) build -o $@ ./tools/withserver

$(BIN)/wasmbrowsertest:
	GOBIN=$(BIN) $(GO) install github.com/agnivade/wasmbrowsertest@$(WASMBROWSERTEST_VERSION)

## e2e: the Playwright suite against the real server in Debian's Chromium
e2e: chromium node build
	cd playwright && { npx playwright test || { node failures.mjs; exit 1; }; }

## bench: the stores' and the two-node benchmarks, then bench/load: tether beside a
## centrifuge peer and go-app's hello world (bench/results.json, bench/RESULTS.md).
## QUICK=1: a short run of bench/load alone (under two minutes, 35 s of abuse phase and about two
## minutes on the emulated slow phone link); BENCH_OUT=file.json
BENCH_OUT ?= $(if $(QUICK),bench/quick.json,bench/results.json)
BENCH_HELLO := $(BIN)/bench-hello-web
bench: build chromium node $(BIN)/bench-peer $(BENCH_HELLO)/web/app.wasm.br $(BIN)/bench-hello redis $(if $(QUICK),,postgresql)
	$(if $(QUICK),,$(GO) test -run '^$$' -bench . -benchtime 2000x ./server/...)
	$(GO) build -o $(BIN)/bench-load ./bench/load
	$(BIN)/bench-load $(if $(QUICK),-quick) -out $(BENCH_OUT) -tether $(BIN)/tether -peer $(BIN)/bench-peer \
		-hello $(BIN)/bench-hello -hello-web $(BENCH_HELLO)

# The peer lives in a module of its own (bench/peer/go.mod): tether's go.mod
# never depends on centrifuge.
$(BIN)/bench-peer: bench/peer/main.go bench/peer/go.mod bench/peer/go.sum $(GOROOT)/VERSION
	cd bench/peer && $(GO) build -trimpath -o $@ .

# go-app's hello world, built and compressed as `make wasm` does tether's.
$(BENCH_HELLO)/web/app.wasm.br: bench/hello/main.go go.mod go.sum $(GOROOT)/VERSION
	@mkdir -p $(BENCH_HELLO)/web
	GOOS=js GOARCH=wasm $(GO) build -trimpath -ldflags='-s -w' -o $(BENCH_HELLO)/web/app.wasm ./bench/hello
	rm -f $(BENCH_HELLO)/web/app.wasm.br $(BENCH_HELLO)/web/app.wasm.gz
	$(GO) run ./tools/precompress $(BENCH_HELLO)/web/app.wasm

$(BIN)/bench-hello: bench/hello/main.go go.mod go.sum
	$(GO) build -trimpath -o $@ ./bench/hello

chromium:
	@command -v chromium >/dev/null 2>&1 || \
		{ $(SUDO) apt-get update -q && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; }

# The PostgreSQL server binaries, for the tests of the PostgreSQL store (the
# tests run them as a throwaway cluster). Debian keeps them out of the PATH,
# in /usr/lib/postgresql/<version>/bin.
postgresql:
	@command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || \
		{ $(SUDO) apt-get update -q && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql; }

# Redis, for the benchmark's peer with its history on disk (bench/load).
redis:
	@command -v redis-server >/dev/null 2>&1 || \
		{ $(SUDO) apt-get update -q && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q redis-server; }

node: playwright/node_modules/.package-lock.json

playwright/node_modules/.package-lock.json: playwright/package-lock.json
	@command -v npm >/dev/null 2>&1 || \
		{ $(SUDO) apt-get update -q && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q nodejs npm; }
	cd playwright && npm ci --no-audit --no-fund
	@touch $@

clean:
	rm -rf $(BIN) web/app.wasm web/app.wasm.br web/app.wasm.gz playwright/test-results playwright/playwright-report
