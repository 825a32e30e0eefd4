package cookies

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

// templateOptions are attribute sets the template must write exactly as Set
// and SetChunked do.
var templateOptions = []struct {
	name string
	o    Options
}{
	{"the defaults", Options{}},
	{"a path and a domain", Options{Path: "/app", Domain: "example.com"}},
	{"a domain with a leading dot", Options{Domain: ".example.com"}},
	{"insecure, strict, readable by scripts", Options{AllowInsecureHTTP: true, SameSite: http.SameSiteStrictMode, ScriptReadable: true}},
	{"SameSite=None, partitioned", Options{SameSite: http.SameSiteNoneMode, Partitioned: true}},
	{"no SameSite attribute", Options{SameSite: http.SameSiteDefaultMode}},
	{"an Expires (the general path)", Options{Expires: time.Now().Add(time.Hour)}},
}

var templateValues = []struct {
	name  string
	value string
}{
	{"a session ID", "Xq3bA5tYw0-_zK9vLmN2pQ8rS4uV6xW1yZ7aB3cD5eF"},
	{"an empty value", ""},
	{"a value to encode", "a b,c;d\"e\\f%g é"},
	{"a value that looks like a chunk count", "chunks-3"},
	{"a value over one cookie", strings.Repeat("v", MaxSize+100)},
	{"a value of exactly one cookie", strings.Repeat("v", MaxSize-len("__Host-sid"))},
}

var templateAges = []time.Duration{0, time.Hour + time.Millisecond, -1, 2 * MaxLifetime}

func lines(w *httptest.ResponseRecorder) []string { return w.Header().Values("Set-Cookie") }

func TestTemplateWritesWhatSetWrites(t *testing.T) {
	for _, o := range templateOptions {
		name := "__Host-sid"
		if o.o.Path != "" || o.o.Domain != "" || o.o.AllowInsecureHTTP {
			name = "sid"
		}
		tmpl, err := o.o.Template(name)
		if err != nil {
			t.Fatalf("%s: %v", o.name, err)
		}
		for _, v := range templateValues {
			for _, age := range templateAges {
				t.Run(o.name+"/"+v.name, func(t *testing.T) {
					opts := o.o
					opts.MaxAge = age
					want, got := httptest.NewRecorder(), httptest.NewRecorder()
					wantErr := Set(want, name, v.value, opts)
					gotErr := tmpl.Set(got, v.value, age)
					if !errors.Is(gotErr, ErrTooLarge) && (gotErr == nil) != (wantErr == nil) {
						t.Fatalf("Set: got error %v, want %v", gotErr, wantErr)
					}
					if !slices.Equal(lines(got), lines(want)) {
						t.Errorf("Set with MaxAge %v:\ngot  %q\nwant %q", age, lines(got), lines(want))
					}
					r := httptest.NewRequest("GET", "/", nil)
					want, got = httptest.NewRecorder(), httptest.NewRecorder()
					wantErr = SetChunked(want, r, name, v.value, opts, 3)
					gotErr = tmpl.SetChunked(got, r, v.value, age, 3)
					if (gotErr == nil) != (wantErr == nil) {
						t.Fatalf("SetChunked: got error %v, want %v", gotErr, wantErr)
					}
					if !slices.Equal(lines(got), lines(want)) {
						t.Errorf("SetChunked with MaxAge %v:\ngot  %q\nwant %q", age, lines(got), lines(want))
					}
				})
			}
		}
	}
}

// A request that carries chunks of an earlier, longer value gets them
// cleared, as SetChunked does.
func TestTemplateClearsStaleChunks(t *testing.T) {
	tmpl, err := Options{}.Template("__Host-data")
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Cookie", "__Host-data=chunks-2; __Host-data.1=ab; __Host-data.2=cd")
	want, got := httptest.NewRecorder(), httptest.NewRecorder()
	if err := SetChunked(want, r, "__Host-data", "short", Options{MaxAge: time.Hour}, 3); err != nil {
		t.Fatal(err)
	}
	if err := tmpl.SetChunked(got, r, "short", time.Hour, 3); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(lines(got), lines(want)) || len(lines(got)) != 3 {
		t.Errorf("got %q, want %q", lines(got), lines(want))
	}
}

func TestTemplateRefusesWhatValidateRefuses(t *testing.T) {
	tests := []struct {
		name string
		o    Options
		want error
	}{
		{"__Host-sid", Options{Domain: "example.com"}, ErrInvalidAttribute},
		{"sid", Options{SameSite: http.SameSiteNoneMode, AllowInsecureHTTP: true}, ErrInvalidAttribute},
		{"s id", Options{}, ErrInvalidName},
		{"sid", Options{Path: "no-slash"}, ErrInvalidAttribute},
	}
	for _, tt := range tests {
		if _, err := tt.o.Template(tt.name); !errors.Is(err, tt.want) {
			t.Errorf("Template(%q) with %+v: got %v, want %v", tt.name, tt.o, err, tt.want)
		}
	}
}

func FuzzTemplateWritesWhatSetWrites(f *testing.F) {
	for _, v := range templateValues {
		f.Add(v.value, int64(time.Hour))
	}
	tmpl, err := Options{Path: "/"}.Template("sid")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, value string, age int64) {
		want, got := httptest.NewRecorder(), httptest.NewRecorder()
		wantErr := Set(want, "sid", value, Options{Path: "/", MaxAge: time.Duration(age)})
		gotErr := tmpl.Set(got, value, time.Duration(age))
		if (gotErr == nil) != (wantErr == nil) || !slices.Equal(lines(got), lines(want)) {
			t.Fatalf("got %q, %v; want %q, %v", lines(got), gotErr, lines(want), wantErr)
		}
	})
}

func TestTemplateWriteAllocatesTwice(t *testing.T) {
	tmpl, err := Options{}.Template("__Host-sid")
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	allocs := testing.AllocsPerRun(100, func() {
		delete(w.Header(), "Set-Cookie")
		_ = tmpl.Set(w, "Xq3bA5tYw0-_zK9vLmN2pQ8rS4uV6xW1yZ7aB3cD5eF", time.Hour)
	})
	if allocs > 2 { // the line and the header's slice
		t.Errorf("got %v allocations per write, want 2", allocs)
	}
}

func TestHasAndFirstParseLikeNetHTTP(t *testing.T) {
	tests := []string{
		"",
		"sid=a",
		"other=1; sid=a",
		"  sid = a ",
		"sid=\"quoted\"",
		"sid=bad\\value; sid=good",
		"sid; sid=x",
		"s id=1; sid=2",
		"sidx=1; xsid=2",
		"sid=",
		";;sid=v;;",
	}
	for _, h := range tests {
		r := httptest.NewRequest("GET", "/", nil)
		if h != "" {
			r.Header.Set("Cookie", h)
		}
		want, err := r.Cookie("sid")
		v, found, exact := first(r, "sid")
		if !exact || found != (err == nil) || (found && v != want.Value) {
			t.Errorf("Cookie: %q: got %q, %v, %v; net/http %v, %v", h, v, found, exact, want, err)
		}
		if Has(r, "sid") != (err == nil) {
			t.Errorf("Cookie: %q: Has disagrees with net/http", h)
		}
	}
}

func FuzzFirstParsesLikeNetHTTP(f *testing.F) {
	f.Add("sid=a; other=b", "sid=c")
	f.Add("sid=\"q\"", "")
	f.Fuzz(func(t *testing.T, line1, line2 string) {
		r := &http.Request{Header: http.Header{"Cookie": {line1, line2}}}
		want, err := r.Cookie("sid")
		v, found, exact := first(r, "sid")
		if !exact {
			return
		}
		if found != (err == nil) || (found && v != want.Value) {
			t.Fatalf("got %q, %v; net/http %v, %v", v, found, want, err)
		}
	})
}

func TestAManyCookieRequestIsLeftToNetHTTP(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Cookie", strings.Repeat("a=1;", maxScanned)+"sid=v")
	if _, _, exact := first(r, "sid"); exact {
		t.Error("got an exact answer for more cookies than net/http parses")
	}
	_, err := r.Cookie("sid")
	if Has(r, "sid") != (err == nil) {
		t.Error("Has disagrees with net/http")
	}
}
