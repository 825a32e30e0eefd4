package cookies_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/sesamego/sesame/cookies"
)

// setChunked runs SetChunked against a request carrying the given Cookie
// header (none if empty) and returns the recorder.
func setChunked(t *testing.T, header, name, value string, maxChunks int) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	r := requestWith()
	if header != "" {
		r = requestWith(header)
	}
	if err := cookies.SetChunked(rec, r, name, value, cookies.Options{}, maxChunks); err != nil {
		t.Fatalf("SetChunked: %v", err)
	}
	return rec
}

// names returns "name=value" for each cookie rec wrote, deletions as "name-".
func names(rec *httptest.ResponseRecorder) []string {
	var out []string
	for _, c := range rec.Result().Cookies() {
		if c.MaxAge < 0 {
			out = append(out, c.Name+"-")
		} else {
			out = append(out, c.Name)
		}
	}
	return out
}

func TestSetChunkedRoundTrip(t *testing.T) {
	const name = "sess"
	limit := cookies.MaxSize - len(name)
	per := cookies.MaxSize - len("sess.5") // the chunk size with maxChunks = 5
	tests := []struct {
		name      string
		value     string
		wantNames []string
	}{
		{"a short value is one cookie", "hello", []string{"sess"}},
		{"the empty value is one cookie", "", []string{"sess"}},
		{"a value that just fits is one cookie", strings.Repeat("a", limit), []string{"sess"}},
		{"one byte more makes two chunks", strings.Repeat("a", limit+1), []string{"sess", "sess.1", "sess.2"}},
		{"exactly two full chunks", strings.Repeat("a", 2*per), []string{"sess", "sess.1", "sess.2"}},
		{"10 KB makes three chunks", strings.Repeat("0123456789", 1000), []string{"sess", "sess.1", "sess.2", "sess.3"}},
		{"an encoded value is split after encoding (9000 bytes)", strings.Repeat("é ", 1000), []string{"sess", "sess.1", "sess.2", "sess.3"}},
		{"a value that looks like a count is chunked to stay unambiguous", "chunks-2", []string{"sess", "sess.1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := setChunked(t, "", name, tt.value, 5)
			if got := names(rec); !slices.Equal(got, tt.wantNames) {
				t.Errorf("got cookies %q, want %q", got, tt.wantNames)
			}
			for _, line := range rec.Header().Values("Set-Cookie") {
				c, err := http.ParseSetCookie(line)
				if err != nil {
					t.Fatal(err)
				}
				if n := len(c.Name) + len(c.Value); n > cookies.MaxSize {
					t.Errorf("got cookie %q of %d bytes, want at most %d", c.Name, n, cookies.MaxSize)
				}
				if !c.Secure || !c.HttpOnly || c.Path != "/" {
					t.Errorf("got %q, want the secure defaults on every chunk", line)
				}
			}
			got, err := cookies.GetChunked(nextRequest(rec), name, 5)
			if err != nil || got != tt.value {
				t.Errorf("GetChunked: got (%.30q, %v), want %.30q", got, err, tt.value)
			}
		})
	}
}

func TestSetChunkedRandomValuesRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 200 {
		b := make([]byte, rng.IntN(12000))
		for j := range b {
			if rng.IntN(4) == 0 {
				b[j] = byte(rng.IntN(256))
			} else {
				b[j] = 'a' + byte(rng.IntN(26))
			}
		}
		rec := httptest.NewRecorder()
		err := cookies.SetChunked(rec, requestWith(), "s", string(b), cookies.Options{}, 8)
		if errors.Is(err, cookies.ErrTooLarge) {
			continue
		}
		if err != nil {
			t.Fatalf("value %d: %v", i, err)
		}
		if got, err := cookies.GetChunked(nextRequest(rec), "s", 8); err != nil || got != string(b) {
			t.Fatalf("value %d (%d bytes): got (%d bytes, %v), want it back", i, len(b), len(got), err)
		}
	}
}

func TestSetChunkedErrors(t *testing.T) {
	tests := []struct {
		name      string
		cookie    string
		value     string
		o         cookies.Options
		maxChunks int
		wantErr   error
		wantMsg   string
	}{
		{"more chunks than allowed", "s", strings.Repeat("a", 9000), cookies.Options{}, 2, cookies.ErrTooLarge, "needing 3 chunks, over the limit of 2"},
		{"a value over one cookie with maxChunks 1", "s", strings.Repeat("a", 5000), cookies.Options{}, 1, cookies.ErrTooLarge, "over the limit of 1"},
		{"maxChunks of zero", "s", "v", cookies.Options{}, 0, nil, "maxChunks is 0"},
		{"an invalid name", "a b", "v", cookies.Options{}, 3, cookies.ErrInvalidName, "not an HTTP token"},
		{"invalid options", "__Host-s", "v", cookies.Options{Path: "/app"}, 3, cookies.ErrInvalidAttribute, "__Host-"},
		{"invalid options on chunks", "__Host-s", strings.Repeat("a", 5000), cookies.Options{Domain: "example.com"}, 3, cookies.ErrInvalidAttribute, "__Host-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			err := cookies.SetChunked(rec, requestWith("s.1=x; s.2=y"), tt.cookie, tt.value, tt.o, tt.maxChunks)
			if err == nil || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("got %v, want an error containing %q", err, tt.wantMsg)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("got %v, want an error wrapping %v", err, tt.wantErr)
			}
			if got := rec.Header().Values("Set-Cookie"); len(got) != 0 {
				t.Errorf("got %d cookies written, want none", len(got))
			}
		})
	}
}

func TestSetChunkedClearsStaleChunks(t *testing.T) {
	old := "s=chunks-3; s.1=a; s.2=b; s.3=c; s.x=keep; s.01=keep; sx.1=keep; other=keep"
	tests := []struct {
		name  string
		value string
		want  []string
	}{
		{"a single value clears every chunk", "small", []string{"s", "s.1-", "s.2-", "s.3-"}},
		{"two chunks clear the third", strings.Repeat("a", 5000), []string{"s", "s.1", "s.2", "s.3-"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := names(setChunked(t, old, "s", tt.value, 5)); !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	t.Run("a nil request clears nothing", func(t *testing.T) {
		rec := httptest.NewRecorder()
		if err := cookies.SetChunked(rec, nil, "s", "v", cookies.Options{}, 5); err != nil {
			t.Fatal(err)
		}
		if got := names(rec); !slices.Equal(got, []string{"s"}) {
			t.Errorf("got %q, want only s", got)
		}
	})
}

func TestGetChunked(t *testing.T) {
	tests := []struct {
		name      string
		header    string
		maxChunks int
		want      string
		wantErr   error
		wantMsg   string
	}{
		{"a single value", "s=hello%20world", 3, "hello world", nil, ""},
		{"a single value ignores stray chunks", "s=v; s.1=x", 3, "v", nil, ""},
		{"two chunks", "s=chunks-2; s.1=ab; s.2=cd", 3, "abcd", nil, ""},
		{"chunks in any order", "s.2=cd; s=chunks-2; s.1=ab", 3, "abcd", nil, ""},
		{"an escape split over chunks", "s=chunks-2; s.1=a%2; s.2=0b", 3, "a b", nil, ""},
		{"the first of duplicate chunks wins", "s=chunks-2; s.1=ab; s.1=XX; s.2=cd", 3, "abcd", nil, ""},
		{"the first of duplicate heads wins", "s=chunks-1; s=chunks-2; s.1=ab", 3, "ab", nil, ""},
		{"a count equal to the limit", "s=chunks-2; s.1=a; s.2=b", 2, "ab", nil, ""},
		{"unrelated look-alike cookies are ignored", "s=chunks-1; s.1=a; s.01=x; s.x=y; sx.2=z", 3, "a", nil, ""},

		{"no cookie", "other=1", 3, "", http.ErrNoCookie, ""},
		{"a missing chunk", "s=chunks-3; s.1=a; s.3=c; x=1", 3, "", cookies.ErrInvalidChunks, "chunk 2 of 3 missing"},
		{"an empty chunk", "s=chunks-2; s.1=a; s.2=", 3, "", cookies.ErrInvalidChunks, "chunk 2 of 2 missing or empty"},
		{"a chunk beyond the count", "s=chunks-2; s.1=a; s.2=b; s.3=c", 5, "", cookies.ErrInvalidChunks, "chunk 3 present beyond the count of 2"},
		{"a count above the limit", "s=chunks-4; s.1=a; s.2=b; s.3=c; s.4=d", 3, "", cookies.ErrInvalidChunks, "4 chunks, over the limit of 3"},
		{"a hostile count", "s=chunks-999999", 3, "", cookies.ErrInvalidChunks, "999999 chunks, over the limit of 3"},
		{"a hostile count under a generous limit", "s=chunks-999999; s.1=a", 1 << 30, "", cookies.ErrInvalidChunks, "only 1 other cookies present"},
		{"a count with too many digits", "s=chunks-99999999999999999999", 1 << 30, "", cookies.ErrInvalidChunks, "malformed chunk count"},
		{"a count of zero", "s=chunks-0", 3, "", cookies.ErrInvalidChunks, "malformed chunk count"},
		{"a count with a leading zero", "s=chunks-01; s.1=a", 3, "", cookies.ErrInvalidChunks, "malformed"},
		{"an empty count", "s=chunks-", 3, "", cookies.ErrInvalidChunks, "malformed"},
		{"a negative count", "s=chunks--1", 3, "", cookies.ErrInvalidChunks, "malformed"},
		{"a count with trailing junk", "s=chunks-1x; s.1=a", 3, "", cookies.ErrInvalidChunks, "malformed"},
		{"a malformed escape in chunks", "s=chunks-1; s.1=a%zz", 3, "", cookies.ErrInvalidChunks, "percent-encoding"},
		{"a malformed escape in a single value", "s=a%2", 3, "", cookies.ErrInvalidChunks, "percent-encoding"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := cookies.GetChunked(requestWith(tt.header), "s", tt.maxChunks)
			if tt.wantErr == nil {
				if err != nil || got != tt.want {
					t.Errorf("got (%q, %v), want %q", got, err, tt.want)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("got error %v, want one wrapping %v and containing %q", err, tt.wantErr, tt.wantMsg)
			}
			if got != "" {
				t.Errorf("got %q alongside the error, want nothing", got)
			}
		})
	}
}

func TestGetChunkedHostileCountAllocatesLittle(t *testing.T) {
	// Enough chunk cookies to pass the "present" check, so that only the
	// count limit stands between the claim and an allocation sized by it.
	var pairs []string
	for i := 1; i <= 100; i++ {
		pairs = append(pairs, fmt.Sprintf("s.%d=x", i))
	}
	for _, head := range []string{"s=chunks-100", "s=chunks-999999999"} {
		r := requestWith(head + "; " + strings.Join(pairs, "; "))
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := cookies.GetChunked(r, "s", 1<<30)
		runtime.ReadMemStats(&after)
		if head == "s=chunks-100" && err != nil {
			t.Fatalf("%s: got %v, want the value", head, err)
		}
		if head != "s=chunks-100" && !errors.Is(err, cookies.ErrInvalidChunks) {
			t.Fatalf("%s: got %v, want ErrInvalidChunks", head, err)
		}
		if n := after.TotalAlloc - before.TotalAlloc; n > 64<<10 {
			t.Errorf("%s: got %d bytes allocated, want under 64 KiB", head, n)
		}
	}
}

func TestClearChunked(t *testing.T) {
	rec := httptest.NewRecorder()
	r := requestWith("s=chunks-2; s.1=a; s.2=b; s.3=stale; other=1")
	if err := cookies.ClearChunked(rec, r, "s", cookies.Options{Path: "/app"}); err != nil {
		t.Fatal(err)
	}
	if got, want := names(rec), []string{"s-", "s.1-", "s.2-", "s.3-"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	for _, c := range rec.Result().Cookies() {
		if c.Path != "/app" {
			t.Errorf("got %s with Path %q, want /app", c.Name, c.Path)
		}
	}
	if err := cookies.ClearChunked(httptest.NewRecorder(), r, "__Host-s", cookies.Options{Path: "/app"}); !errors.Is(err, cookies.ErrInvalidAttribute) {
		t.Errorf("__Host- with Path /app: got %v, want ErrInvalidAttribute", err)
	}
}

func FuzzGetChunked(f *testing.F) {
	f.Add("s=chunks-2; s.1=ab; s.2=cd", 3)
	f.Add("s=chunks-999999", 5)
	f.Add("s=chunks-1; s.1=%zz", 5)
	f.Add("s=%41", 1)
	f.Add("s.1=a; s=chunks-1; s.1=b", 0)
	f.Fuzz(func(t *testing.T, header string, maxChunks int) {
		got, err := cookies.GetChunked(requestWith(header), "s", maxChunks)
		if err != nil && got != "" {
			t.Fatalf("got %q alongside %v", got, err)
		}
		if err != nil && !errors.Is(err, cookies.ErrInvalidChunks) && !errors.Is(err, http.ErrNoCookie) {
			t.Fatalf("got %v, want ErrInvalidChunks or ErrNoCookie", err)
		}
	})
}
