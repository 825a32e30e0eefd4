# Tasks for working on sesame. The tests themselves need only `go test ./...`.

.PHONY: screenshot
# screenshot regenerates docs/screenshot.png: the demo shop's home page,
# logged in, rendered by headless chromium (apt-get install -y chromium).
screenshot:
	SESAME_SCREENSHOT=1 go test ./examples/shop -run '^TestScreenshot$$' -count=1 -v

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
