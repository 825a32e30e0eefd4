package admin

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseDevice(t *testing.T) {
	tests := []struct {
		name, ua, want string
	}{
		{"Firefox on Linux", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0", "Firefox 128 on Linux"},
		{"Chrome on Windows", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36", "Chrome 126 on Windows"},
		{"Edge is not Chrome", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.2592.56", "Edge 126 on Windows"},
		{"Opera is not Chrome", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36 OPR/111.0.0.0", "Opera 111 on macOS"},
		{"Safari on macOS reads Version", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15", "Safari 17 on macOS"},
		{"Safari on iPhone", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1", "Safari 17 on iOS 17"},
		{"Chrome on iPad", "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/126.0.6478.54 Mobile/15E148 Safari/604.1", "Chrome 126 on iPadOS 17"},
		{"Chrome on Android", "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.6478.71 Mobile Safari/537.36", "Chrome 126 on Android 14"},
		{"Samsung Internet", "Mozilla/5.0 (Linux; Android 13; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36", "Samsung Internet 25 on Android 13"},
		{"ChromeOS", "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36", "Chrome 126 on ChromeOS"},
		{"headless Chrome of the browser tests", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/140.0.0.0 Safari/537.36", "Headless Chrome 140 on Linux"},
		{"curl", "curl/8.5.0", "curl 8"},
		{"Go's client", "Go-http-client/1.1", "Go HTTP client 1"},
		{"a crawler", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "Googlebot 2"},
		{"no header", "", "Unknown"},
		{"something else", "MyApp/3.2 (custom)", "Other"},
		{"Version without Safari is not Safari", "Opera/9.80 (Windows NT 6.1) Presto/2.12.388 Version/12.18", "Other on Windows"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parseDevice(tt.ua).String(); got != tt.want {
				t.Errorf("parseDevice(%q) = %q, want %q", tt.ua, got, tt.want)
			}
		})
	}
}

// FuzzParseDevice: any header parses without panicking into a short name
// made of the header's own bytes and the table's names.
func FuzzParseDevice(f *testing.F) {
	f.Add("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Version/17.5 Safari/604.1")
	f.Add("Chrome/")
	f.Add("Android Android 999999999")
	f.Add(strings.Repeat("Firefox/1", 200))
	f.Fuzz(func(t *testing.T, ua string) {
		d := parseDevice(ua)
		s := d.String()
		if d.Browser == "" || len(s) > 64 {
			t.Fatalf("parseDevice(%q) = %q", ua, s)
		}
		if utf8.ValidString(ua) && !utf8.ValidString(s) {
			t.Fatalf("parseDevice(%q) = %q: not UTF-8", ua, s)
		}
	})
}
