# Tasks for working on sesame. `make test` is the README's test command and
# what CI (.ci/run) runs.

.PHONY: test screenshot

# test runs every test with the race detector. It first says which optional
# parts will be skipped on this machine (no Chromium, no database server), so
# that a green run without them is not mistaken for a full one.
test:
	@command -v chromium >/dev/null 2>&1 || \
		echo "make test: chromium not found: the browser tests will be SKIPPED (apt-get install -y chromium)"
	@command -v redis-server >/dev/null 2>&1 || \
		echo "make test: redis-server not found: the Redis Cluster tests will be SKIPPED"
	@[ "$$SESAME_REQUIRE_SERVICES" = 1 ] || \
		echo "make test: store tests skip when their server is unreachable (set SESAME_REQUIRE_SERVICES=1 to make that a failure)"
	go test -race ./...

# screenshot regenerates docs/screenshot.png: the demo shop's home page,
# logged in, rendered by headless chromium (apt-get install -y chromium).
screenshot:
	SESAME_SCREENSHOT=1 go test ./examples/shop -run '^TestScreenshot$$' -count=1 -v
