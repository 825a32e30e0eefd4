# Tasks for working on sesame. The tests themselves need only `go test ./...`.

.PHONY: screenshot
# screenshot regenerates docs/screenshot.png: the demo shop's home page,
# logged in, rendered by headless chromium (apt-get install -y chromium).
screenshot:
	SESAME_SCREENSHOT=1 go test ./examples/shop -run '^TestScreenshot$$' -count=1 -v
