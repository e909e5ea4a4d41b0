# baton-cursor. `make demo` and `make test` are all a fresh machine needs.
GO      ?= go
BUF     := $(GO) tool -modfile=tools/go.mod buf
BIN     := bin
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)

# One build configuration for everything we ship, test and measure: the
# image's (static, no cgo, no local paths). Exported, so the binaries that
# tests and benchmarks build with `go build` are built the same way. Only
# `make race` turns cgo on: the race detector needs it, and it ships nothing.
export CGO_ENABLED := 0
export GOFLAGS := -trimpath

.PHONY: build simulator demo test race generate lint check-generated breaking cross ci bench bench-org image

build: ## both binaries into bin/
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/ ./host/cmd/baton-cursor ./plugin/cmd/baton-cursor-plugin

IMAGE ?= baton-cursor:$(VERSION)
image: ## the container image $(IMAGE): static, non-root, FROM scratch, no registry needed (needs dockerd)
	GO=$(GO) deploy/image/build $(IMAGE) $(VERSION)

simulator: ## the simulated Cursor tenant into bin/ (a test and demo tool; never shipped)
	$(GO) build -o $(BIN)/ ./internal/simulator/cmd/cursor-simulator

demo: build simulator ## sync a simulated Cursor team through host and plugin into sync.c1z
	$(GO) run ./internal/demo -bin $(BIN) -members 1000 -out sync.c1z

test: build ## every test: unit, plugin subprocess, end to end, deployment (deploy/ is its own module)
	$(GO) test -count=1 ./...
	cd deploy && $(GO) test -count=1 ./...
	@docker info >/dev/null 2>&1 || echo "make test: no Docker daemon answered, so the image tests did not run (deploy/kubernetes: TestImageIsStaticNonRootWithoutAShell, TestPodAsImageRunsASyncTask); .ci/run starts one"

# The packages where goroutines meet: the plugin's shared roster fetch and
# sidecar, the host's plugin client and run (signals, the summary), the
# connector's calls from baton-sdk's syncer, the retry loop and the pacer.
RACE_PKGS := ./plugin/service ./plugin/transport ./host/pluginproc ./host/oneshot ./host/service ./host/connector ./internal/httpretry ./internal/cursororg

race: ## the race detector on the concurrent packages
	CGO_ENABLED=1 $(GO) test -race -count=1 $(RACE_PKGS)

generate: ## regenerate gen/ (buf, local plugins) and host/config/conf.gen.go
	$(BUF) generate
	cd host/config && $(GO) generate . && gofmt -w conf.gen.go

lint: ## buf lint and format, gofmt, go vet
	$(BUF) lint
	$(BUF) format --diff --exit-code
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '^gen/')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	cd deploy && $(GO) vet ./...

check-generated: generate ## fail when generated code differs from what is committed
	@if [ -n "$$(git status --porcelain -- gen host/config/conf.gen.go)" ]; then \
	  git status --short -- gen host/config/conf.gen.go; git diff -- gen host/config/conf.gen.go | head -50; \
	  echo "generated code drifted: run 'make generate' and commit the result"; exit 1; fi

# The contract only grows: the working tree is checked against main, and every
# commit that touched proto/ against its parent (so a clone of main checks its
# own history). Snapshots come from git archive: buf's own git input clones
# shallowly and cannot reach an old commit's parent. A break needs a new
# package, cursor.plugin.v2.
breaking: ## buf breaking against main and along proto/'s history
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	snap() { mkdir -p "$$tmp/$$2"; git archive "$$1" buf.yaml proto | tar -x -C "$$tmp/$$2"; }; \
	if git rev-parse -q --verify 'main^{commit}' >/dev/null && git cat-file -e main:proto 2>/dev/null; then \
	  snap main main; $(BUF) breaking . --against "$$tmp/main"; fi; \
	for c in $$(git log --format=%H -- proto); do \
	  if git cat-file -e "$$c~1:proto" 2>/dev/null; then \
	    snap "$$c" "$$c"; snap "$$c~1" "$$c-parent"; \
	    $(BUF) breaking "$$tmp/$$c" --against "$$tmp/$$c-parent" || { echo "commit $$c breaks cursor.plugin.v1"; exit 1; }; \
	  fi; \
	done; echo "buf breaking: no breaking change"

# baton connectors ship for Linux, macOS and Windows. go vet type-checks the
# test files too. The e2e, plugin-process and bench code is Linux-only
# (//go:build linux: it reads /proc and signals process groups).
CROSS := darwin/amd64 darwin/arm64 windows/amd64
cross: ## go build and go vet of ./... for each of $(CROSS)
	@set -e; for p in $(CROSS); do \
	  echo "cross: $$p"; \
	  GOOS=$${p%/*} GOARCH=$${p#*/} $(GO) build ./...; \
	  GOOS=$${p%/*} GOARCH=$${p#*/} $(GO) vet ./...; \
	done

ci: lint check-generated breaking cross test race ## what .ci/run runs

# Every harness runs even when one before it fails (a harness fails when a budget
# it holds is over, after writing its section); make bench fails at the end,
# naming them.
BENCH_HARNESSES := \
	'run -bin $(BIN) -runs 3 -activity-days 0' \
	'run -bin $(BIN) -runs 3 -activity-days 30 -scim 0' \
	'activity -bin $(BIN) -runs 2' \
	'activity -bin $(BIN) -runs 2 -latency 100ms' \
	'provision -bin $(BIN)' \
	'service -bin $(BIN) -members 10000 -tasks 20' \
	'org -bin $(BIN) -sizes 1000,20000'
bench: build simulator ## Go benchmarks of the hot paths, then every harness writes its section of BENCHMARKS.md
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 5x ./...
	$(GO) build -o $(BIN)/baton-cursor-floor ./internal/bench/floor
	rm -f BENCHMARKS.md
	@failed=; for h in $(BENCH_HARNESSES); do \
	  echo "$(GO) run ./internal/bench/$$h -out BENCHMARKS.md"; \
	  $(GO) run ./internal/bench/$$h -out BENCHMARKS.md || failed="$$failed; $$h"; \
	done; \
	if [ -n "$$failed" ]; then echo "make bench: these harnesses failed (see their sections in BENCHMARKS.md):$${failed#;}" >&2; exit 1; fi

bench-org: build ## the organization sync at Cursor's limits for 100,000 people (~36 min: 646 organization requests at 20 a minute)
	$(GO) run ./internal/bench/org -bin $(BIN) -sizes 100000 -out BENCHMARKS.md
