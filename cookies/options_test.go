package cookies_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/sesamego/sesame/cookies"
)

func TestOptionsCookie(t *testing.T) {
	exp := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		o    cookies.Options
		want http.Cookie // Name and Value are filled in
	}{
		{"the zero options are secure", cookies.Options{},
			http.Cookie{Path: "/", Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode}},
		{"a MaxAge is whole seconds", cookies.Options{MaxAge: 2 * time.Hour},
			http.Cookie{Path: "/", MaxAge: 7200, Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode}},
		{"a sub-second MaxAge rounds up, never to a session cookie", cookies.Options{MaxAge: 300 * time.Millisecond},
			http.Cookie{Path: "/", MaxAge: 1, Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode}},
		{"a MaxAge of 1.5s rounds up to 2", cookies.Options{MaxAge: 1500 * time.Millisecond},
			http.Cookie{Path: "/", MaxAge: 2, Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode}},
		{"a MaxAge over 400 days is clamped", cookies.Options{MaxAge: 2 * cookies.Year},
			http.Cookie{Path: "/", MaxAge: 34560000, Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode}},
		{"a negative MaxAge deletes", cookies.Options{MaxAge: -time.Second},
			http.Cookie{Path: "/", MaxAge: -1, Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode}},
		{"every attribute is passed on", cookies.Options{Expires: exp, Domain: "example.com", Path: "/app", SameSite: http.SameSiteStrictMode, Partitioned: true},
			http.Cookie{Path: "/app", Domain: "example.com", Expires: exp, Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode, Partitioned: true}},
		{"SameSiteDefaultMode leaves the attribute to the browser", cookies.Options{SameSite: http.SameSiteDefaultMode},
			http.Cookie{Path: "/", Secure: true, HttpOnly: true, SameSite: http.SameSiteDefaultMode}},
		{"AllowInsecureHTTP drops Secure", cookies.Options{AllowInsecureHTTP: true},
			http.Cookie{Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode}},
		{"ScriptReadable drops HttpOnly", cookies.Options{ScriptReadable: true},
			http.Cookie{Path: "/", Secure: true, SameSite: http.SameSiteLaxMode}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.o.Cookie("n", "v")
			want := tt.want
			want.Name, want.Value = "n", "v"
			if got.String() != want.String() || got.MaxAge != want.MaxAge || !got.Expires.Equal(want.Expires) {
				t.Errorf("got %q (MaxAge %d), want %q (MaxAge %d)", got, got.MaxAge, &want, want.MaxAge)
			}
		})
	}
}
