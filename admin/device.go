package admin

import "strings"

// A device is what a User-Agent header says about the client: its browser
// and operating system, for the users page. The parse is a best effort over
// the common tokens; a header it does not recognise gives "Other".
type device struct {
	Browser string // "Firefox 128", "Chrome 126", "curl 8", "Other"
	OS      string // "macOS", "Windows", "Android 14", "" when unknown
}

// String returns "Browser on OS", or the browser alone.
func (d device) String() string {
	if d.OS == "" {
		return d.Browser
	}
	return d.Browser + " on " + d.OS
}

// maxUA bounds the part of a User-Agent that is looked at: sesame stores at
// most 512 bytes of it, and nothing useful comes later.
const maxUA = 512

// browsers are matched in order: the first token found names the browser.
// Order matters: Edge and Opera also say "Chrome/", Chrome also says
// "Safari/", and every browser says "Mozilla/".
var browsers = []struct{ token, name string }{
	{"Googlebot/", "Googlebot"},
	{"bingbot/", "Bingbot"},
	{"HeadlessChrome/", "Headless Chrome"},
	{"Edg/", "Edge"},
	{"EdgA/", "Edge"},
	{"EdgiOS/", "Edge"},
	{"OPR/", "Opera"},
	{"SamsungBrowser/", "Samsung Internet"},
	{"FxiOS/", "Firefox"},
	{"Firefox/", "Firefox"},
	{"CriOS/", "Chrome"},
	{"Chromium/", "Chromium"},
	{"Chrome/", "Chrome"},
	{"Version/", "Safari"}, // Safari's version; its "Safari/" is the WebKit build
	{"curl/", "curl"},
	{"Wget/", "Wget"},
	{"Go-http-client/", "Go HTTP client"},
	{"python-requests/", "Python requests"},
	{"okhttp/", "OkHttp"},
	{"PostmanRuntime/", "Postman"},
}

// parseDevice parses a User-Agent header.
func parseDevice(ua string) device {
	if len(ua) > maxUA {
		ua = ua[:maxUA]
	}
	d := device{Browser: "Other", OS: parseOS(ua)}
	if ua == "" {
		d.Browser = "Unknown"
		return d
	}
	for _, b := range browsers {
		i := strings.Index(ua, b.token)
		if i < 0 {
			continue
		}
		if b.token == "Version/" && !strings.Contains(ua, "Safari/") {
			continue // Opera Presto and others say Version/ too
		}
		d.Browser = b.name
		if v := major(ua[i+len(b.token):]); v != "" {
			d.Browser += " " + v
		}
		return d
	}
	return d
}

// parseOS names the operating system of a User-Agent, with its version
// where the header gives one reliably.
func parseOS(ua string) string {
	switch {
	case strings.Contains(ua, "Android"):
		return "Android" + versionAfter(ua, "Android ")
	case strings.Contains(ua, "iPhone"), strings.Contains(ua, "iPod"):
		return "iOS" + versionAfter(ua, "OS ")
	case strings.Contains(ua, "iPad"):
		return "iPadOS" + versionAfter(ua, "OS ")
	case strings.Contains(ua, "CrOS"):
		return "ChromeOS"
	case strings.Contains(ua, "Windows Phone"):
		return "Windows Phone"
	case strings.Contains(ua, "Windows"):
		// Windows 11 also says "Windows NT 10.0": the header cannot tell.
		return "Windows"
	case strings.Contains(ua, "Mac OS X"), strings.Contains(ua, "Macintosh"):
		return "macOS"
	case strings.Contains(ua, "Linux"), strings.Contains(ua, "X11"):
		return "Linux"
	}
	return ""
}

// versionAfter returns " N" for the major version that follows token in
// ua ("Android 14" gives " 14", "OS 17_5" gives " 17"), or "".
func versionAfter(ua, token string) string {
	i := strings.Index(ua, token)
	if i < 0 {
		return ""
	}
	if v := major(ua[i+len(token):]); v != "" {
		return " " + v
	}
	return ""
}

// major returns the leading digits of s (at most 4), or "".
func major(s string) string {
	n := 0
	for n < len(s) && n < 4 && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return s[:n]
}
