package cookies_test

import (
	"bytes"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/sesamego/sesame/cookies"
	"github.com/sesamego/sesame/seal"
)

// browser plays the next request of a browser that received rec's cookies.
func browser(rec *httptest.ResponseRecorder) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "https://example.com/", nil)
	for _, c := range rec.Result().Cookies() {
		r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	return r
}

// withoutValue hides the part of a Set-Cookie line that changes from run to
// run (a sealed value).
func withoutValue(line string) string {
	name, rest, _ := strings.Cut(line, "=")
	_, attrs, _ := strings.Cut(rest, ";")
	return name + "=…;" + attrs
}

// A theme preference is not a secret and JavaScript must read it, so it is a
// plain cookie without HttpOnly.
func ExampleSet_themePreference() {
	rec := httptest.NewRecorder()
	err := cookies.Set(rec, "theme", "dark", cookies.Options{
		MaxAge:         cookies.Year,
		ScriptReadable: true, // document.cookie can see it
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(rec.Header().Get("Set-Cookie"))

	theme, ok := cookies.Get(browser(rec), "theme")
	fmt.Println(theme, ok)
	// Output:
	// theme=dark; Path=/; Max-Age=31557600; Secure; SameSite=Lax
	// dark true
}

// A remember-me cookie holds a user ID that the server must be able to
// trust: it is signed (so it cannot be changed), HttpOnly (so scripts cannot
// steal it) and "__Host-" (so a sibling subdomain cannot set it).
func ExampleJar_SetSigned_rememberMe() {
	keys, err := seal.NewKeyring(bytes.Repeat([]byte("secret!!"), 4)) // use seal.ParseSecrets in real code
	if err != nil {
		log.Fatal(err)
	}
	remember := cookies.NewJar(keys, cookies.Options{MaxAge: 30 * cookies.Day})

	rec := httptest.NewRecorder()
	if err := remember.SetSigned(rec, "__Host-remember", "user:42"); err != nil {
		log.Fatal(err)
	}
	fmt.Println(withoutValue(rec.Header().Get("Set-Cookie")))

	userID, ok := remember.GetSigned(rec, browser(rec), "__Host-remember")
	fmt.Println(userID, ok)

	// A changed value is not present, rather than wrong.
	forged := httptest.NewRequest(http.MethodGet, "/", nil)
	forged.AddCookie(&http.Cookie{Name: "__Host-remember", Value: "user:1"})
	userID, ok = remember.GetSigned(nil, forged, "__Host-remember")
	fmt.Printf("%q %v\n", userID, ok)
	// Output:
	// __Host-remember=…; Path=/; Max-Age=2592000; HttpOnly; Secure; SameSite=Lax
	// user:42 true
	// "" false
}

// An encrypted cookie keeps its content from the user as well.
func ExampleJar_SetEncrypted() {
	keys, _ := seal.NewKeyring(bytes.Repeat([]byte("secret!!"), 4))
	jar := cookies.NewJar(keys, cookies.Options{MaxAge: time.Hour})

	type cart struct{ Items []string }
	rec := httptest.NewRecorder()
	if err := jar.SetEncryptedJSON(rec, "cart", cart{Items: []string{"sesame", "tahini"}}); err != nil {
		log.Fatal(err)
	}
	got := cookies.GetEncryptedJSON(jar, rec, browser(rec), "cart", cart{})
	fmt.Println(got.Items)

	// The raw cookie reveals nothing.
	raw, _ := cookies.Get(browser(rec), "cart")
	fmt.Println(strings.Contains(raw, "sesame"))
	// Output:
	// [sesame tahini]
	// false
}

// Clearing a cookie needs the Path and Domain it was set with.
func ExampleClear() {
	rec := httptest.NewRecorder()
	if err := cookies.Clear(rec, "theme", cookies.Options{ScriptReadable: true}); err != nil {
		log.Fatal(err)
	}
	fmt.Println(rec.Header().Get("Set-Cookie"))
	// Output:
	// theme=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Secure; SameSite=Lax
}

func ExampleParseDuration() {
	for _, s := range []string{"30m", "2h", "7d", "2 weeks", "1.5h", "1y", "0", "forever"} {
		d, err := cookies.ParseDuration(s)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(s, "=", d)
	}
	// Output:
	// 30m = 30m0s
	// 2h = 2h0m0s
	// 7d = 168h0m0s
	// 2 weeks = 336h0m0s
	// 1.5h = 1h30m0s
	// 1y = 8766h0m0s
	// cookies: invalid duration "0": zero
	// cookies: invalid duration "forever": expected a number at "forever"
}

// Validation happens before anything is written.
func ExampleWrite() {
	rec := httptest.NewRecorder()
	err := cookies.Write(rec, &http.Cookie{Name: "__Host-id", Value: "1", Domain: "example.com", Secure: true, Path: "/"})
	fmt.Println(err)
	fmt.Println(len(rec.Header().Values("Set-Cookie")))
	// Output:
	// cookies: cookie "__Host-id": the __Host- prefix forbids a Domain: cookies: invalid cookie attribute
	// 0
}

// SetChunked spreads a large (sealed) value over several cookies.
func ExampleSetChunked() {
	big := strings.Repeat("x", 6000)
	rec := httptest.NewRecorder()
	if err := cookies.SetChunked(rec, nil, "state", big, cookies.Options{}, 4); err != nil {
		log.Fatal(err)
	}
	for _, c := range rec.Result().Cookies() {
		fmt.Println(c.Name, len(c.Value))
	}
	v, err := cookies.GetChunked(browser(rec), "state", 4)
	fmt.Println(len(v), err)
	// Output:
	// state 8
	// state.1 4089
	// state.2 1911
	// 6000 <nil>
}

// A cookie written on every response of a kind (a session ID) is validated
// once, when the app starts, and each response then only fills in its value
// and age.
func ExampleOptions_Template() {
	tmpl, err := cookies.Options{Path: "/"}.Template("__Host-sid")
	if err != nil {
		log.Fatal(err) // a bad name or attribute combination, found at start-up
	}
	rec := httptest.NewRecorder()
	if err := tmpl.Set(rec, "Xq3bA5tYw0-_zK9vLmN2pQ8rS4uV6xW1yZ7aB3cD5eF", 2*time.Hour); err != nil {
		log.Fatal(err)
	}
	fmt.Println(rec.Header().Get("Set-Cookie"))
	// Output: __Host-sid=Xq3bA5tYw0-_zK9vLmN2pQ8rS4uV6xW1yZ7aB3cD5eF; Path=/; Max-Age=7200; HttpOnly; Secure; SameSite=Lax
}

// Has tells whether a request carries a cookie without parsing its Cookie
// header into cookies.
func ExampleHas() {
	r := httptest.NewRequest(http.MethodGet, "https://example.com/", nil)
	r.Header.Set("Cookie", "theme=dark; __Host-sid=abc")
	fmt.Println(cookies.Has(r, "__Host-sid"), cookies.Has(r, "cart"))
	// Output: true false
}
