# Tasks for working on sesame. `make test` is the README's test command and
# what CI (.ci/run) runs.
#
# sesame is several Go modules tied together by go.work (see
# CONTRIBUTING.md). In a workspace, `go test ./...` stops at the edge of the
# module it runs in, so the targets below name every workspace module's
# packages by import path instead: $(PKGS) is all of them but bench/, whose
# benchmarks are run on purpose, on a quiet machine (bench/README.md).
PKGS = $(shell go list github.com/sesamego/sesame/... | grep -v '^github.com/sesamego/sesame/bench')

.PHONY: test screenshot

# test runs every test of every module with the race detector. It first says which optional
# parts will be skipped on this machine (no Chromium, no database server), so
# that a green run without them is not mistaken for a full one.
test:
	@command -v chromium >/dev/null 2>&1 || \
		echo "make test: chromium not found: the browser tests will be SKIPPED (apt-get install -y chromium)"
	@command -v redis-server >/dev/null 2>&1 || \
		echo "make test: redis-server not found: the Redis Cluster tests will be SKIPPED"
	@[ "$$SESAME_REQUIRE_SERVICES" = 1 ] || \
		echo "make test: store tests skip when their server is unreachable (set SESAME_REQUIRE_SERVICES=1 to make that a failure)"
	go test -race $(PKGS)

# screenshot regenerates docs/screenshot.png (the demo shop's home page,
# logged in) and docs/admin.png (the admin dashboard's overview), rendered
# by headless chromium (apt-get install -y chromium).
screenshot:
	SESAME_SCREENSHOT=1 go test ./examples/shop -run '^TestScreenshot(Admin)?$$' -count=1 -v

.PHONY: first-run
# first-run measures what the README promises: the time from "go run
# ./examples/shop" in a fresh clone of HEAD, with empty module and build
# caches, to the demo's first answer. It needs the network (the Go module
# proxy) and takes a minute or more; run it on an otherwise idle machine.
first-run:
	@set -e; d=$$(mktemp -d); trap 'rm -rf "$$d"' EXIT; \
	git clone -q . "$$d/src"; cd "$$d/src"; \
	export GOMODCACHE=$$d/mod GOCACHE=$$d/cache GOFLAGS=-modcacherw; \
	start=$$(date +%s); \
	go run ./examples/shop -addr 127.0.0.1:18089 -data "$$d/data" >"$$d/out" 2>&1 & pid=$$!; \
	until curl -s -o /dev/null http://127.0.0.1:18089/; do \
	  kill -0 $$pid 2>/dev/null || { cat "$$d/out"; exit 1; }; sleep 0.5; done; \
	echo "first answer after $$(( $$(date +%s) - start )) s"; \
	pkill -P $$pid; kill $$pid; wait $$pid 2>/dev/null || true
