package csrf

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"github.com/sesamego/sesame"
)

// uploadApp serves the Protector in process, so that a test can measure what
// one request allocates and how much of its body was read.
type uploadApp struct {
	t       *testing.T
	h       http.Handler
	cookies []*http.Cookie
	token   string
	lastErr error
}

func newUploadApp(t *testing.T, upload http.HandlerFunc) *uploadApp {
	t.Helper()
	m, err := sesame.New(sesame.Config{CrossOrigin: sesame.CrossOriginConfig{Disable: true}})
	if err != nil {
		t.Fatal(err)
	}
	a := &uploadApp{t: t}
	p, err := New(Config{Sessions: m, ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
		a.lastErr = err
		http.Error(w, "forbidden", http.StatusForbidden)
	}})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /token", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, Token(r)) })
	mux.HandleFunc("POST /upload", upload)
	a.h = m.Handler(p.Handler(mux))
	rec := httptest.NewRecorder()
	a.h.ServeHTTP(rec, httptest.NewRequest("GET", "https://shop.example/token", nil))
	a.token, a.cookies = rec.Body.String(), rec.Result().Cookies()
	if a.token == "" || len(a.cookies) == 0 {
		t.Fatalf("got token %q and %d cookies, want both", a.token, len(a.cookies))
	}
	return a
}

// post sends body as a multipart upload and returns the status and how many
// bytes of the body were read.
func (a *uploadApp) post(body io.Reader, header map[string]string) (code int, read int64) {
	a.t.Helper()
	a.lastErr = nil
	cr := &countingReader{r: body}
	req := httptest.NewRequest("POST", "https://shop.example/upload", cr)
	req.Header.Set("Content-Type", "multipart/form-data; boundary="+boundary)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	for _, c := range a.cookies {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	a.h.ServeHTTP(rec, req)
	return rec.Code, cr.n
}

const boundary = "sesame-test-boundary"

// formPart is one part of a multipart body; a part with a filename is a file.
func formPart(name, filename, value string) string {
	disp := fmt.Sprintf("form-data; name=%q", name)
	if filename != "" {
		disp += fmt.Sprintf("; filename=%q", filename)
	}
	return "--" + boundary + "\r\nContent-Disposition: " + disp + "\r\n\r\n" + value + "\r\n"
}

const closing = "--" + boundary + "--\r\n"

// bigFile returns the parts before, then a file part of size bytes made on
// the fly (the test holds none of it), then the parts after.
func bigFile(before string, size int64, after string) io.Reader {
	head := before + "--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.bin\"\r\n" +
		"Content-Type: application/octet-stream\r\n\r\n"
	return io.MultiReader(strings.NewReader(head), io.LimitReader(zeros{}, size),
		strings.NewReader("\r\n"+after+closing))
}

type zeros struct{}

func (zeros) Read(b []byte) (int, error) {
	clear(b)
	return len(b), nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += int64(n)
	return n, err
}

// streamFile is an upload handler that streams the file part, as handlers
// of large uploads do, and records its size.
func streamFile(size *int64) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		mr, err := r.MultipartReader()
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		for {
			part, err := mr.NextPart()
			if err == io.EOF {
				return
			}
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			if part.FileName() != "" {
				*size, _ = io.Copy(io.Discard, part)
			}
		}
	}
}

// allocated returns the bytes the heap allocated while fn ran.
func allocated(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestLargeUploadsAreNotBuffered sends a 50 MB upload with the token in the
// header and with the token field first: either way the check reads at most
// 64 KiB of it, and the handler streams the whole file. Parsing the form to
// find the field, as the check did before, kept 32 MB of it in memory.
func TestLargeUploadsAreNotBuffered(t *testing.T) {
	const size = 50 << 20
	const budget = 2 << 20 // the request's own allocations; far below the upload
	var got int64
	a := newUploadApp(t, streamFile(&got))
	tests := []struct {
		name   string
		body   func() io.Reader
		header map[string]string
	}{
		{"the token in the header", func() io.Reader { return bigFile("", size, "") }, map[string]string{DefaultHeaderName: a.token}},
		{"the token field before the file", func() io.Reader { return bigFile(formPart("_csrf", "", a.token), size, "") }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got = 0
			var code int
			var read int64
			n := allocated(func() { code, read = a.post(tt.body(), tt.header) })
			if code != http.StatusOK || got != size {
				t.Fatalf("got %d with a %d-byte file (err %v), want 200 with the %d-byte file", code, got, a.lastErr, size)
			}
			if read < size {
				t.Errorf("got %d bytes of the body read, want all of it", read)
			}
			if n > budget {
				t.Errorf("the request allocated %d bytes, want under %d: the upload was buffered", n, budget)
			}
			t.Logf("a %d MB upload with %s: %d bytes allocated", size>>20, tt.name, n)
		})
	}
}

func TestATokenFieldAfterAFileIsRefusedWithoutReadingTheUpload(t *testing.T) {
	a := newUploadApp(t, func(w http.ResponseWriter, r *http.Request) { t.Error("the handler ran") })
	code, read := a.post(bigFile("", 50<<20, formPart("_csrf", "", a.token)), nil)
	if code != http.StatusForbidden || !errors.Is(a.lastErr, ErrMissingToken) {
		t.Fatalf("got %d with %v, want 403 and ErrMissingToken", code, a.lastErr)
	}
	for _, want := range []string{`"_csrf" field is not within the first 64 KiB`, "before the form's file inputs", "X-CSRF-Token header"} {
		if !strings.Contains(a.lastErr.Error(), want) {
			t.Errorf("got error %q, want it to say %q", a.lastErr, want)
		}
	}
	if read > maxMultipartScan {
		t.Errorf("got %d bytes of the body read, want at most %d", read, maxMultipartScan)
	}
}

// TestMultipartForms checks the token in small multipart forms, and that a
// handler that parses the form after the check sees all of it.
func TestMultipartForms(t *testing.T) {
	var form struct{ name, file string }
	a := newUploadApp(t, func(w http.ResponseWriter, r *http.Request) {
		form.name = r.FormValue("name")
		f, _, err := r.FormFile("file")
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		defer f.Close()
		b, _ := io.ReadAll(f)
		form.file = string(b)
	})
	comment := strings.Repeat("a long comment ", 2000) // 30 KB of text fields before the token
	tests := []struct {
		name     string
		body     string
		want     int
		wantErr  error
		wantName string
	}{
		{"the token first, then fields and a file", formPart("_csrf", "", a.token) + formPart("name", "", "Ada") + formPart("file", "a.txt", "hello") + closing, 200, nil, "Ada"},
		{"text fields before the token", formPart("comment", "", comment) + formPart("name", "", "Ada") + formPart("_csrf", "", a.token) + formPart("file", "a.txt", "hello") + closing, 200, nil, "Ada"},
		{"a form without the token field", formPart("name", "", "Ada") + formPart("file", "a.txt", "hello") + closing, 403, ErrMissingToken, ""},
		{"the token in a file part", formPart("_csrf", "token.txt", a.token) + formPart("file", "a.txt", "hello") + closing, 403, ErrMissingToken, ""},
		{"a body that is not multipart", "--another-boundary\r\n\r\nhello", 403, ErrMissingToken, ""},
		{"another token", formPart("_csrf", "", mask(newToken())) + formPart("file", "a.txt", "hello") + closing, 403, ErrBadToken, ""},
		{"a token field over 1 KiB", formPart("_csrf", "", strings.Repeat("A", 2000)) + formPart("file", "a.txt", "hello") + closing, 403, ErrBadToken, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			form.name, form.file = "", ""
			code, _ := a.post(strings.NewReader(tt.body), nil)
			if code != tt.want {
				t.Fatalf("got %d (err %v), want %d", code, a.lastErr, tt.want)
			}
			if tt.wantErr != nil && !errors.Is(a.lastErr, tt.wantErr) {
				t.Errorf("got error %v, want one wrapping %v", a.lastErr, tt.wantErr)
			}
			if code == 200 && (form.name != tt.wantName || form.file != "hello") {
				t.Errorf("the handler got name %q and file %q, want %q and \"hello\"", form.name, form.file, tt.wantName)
			}
		})
	}
}

// FuzzMultipartToken: whatever the body, looking for the token never panics,
// never reads past the limit, and the handler then reads the body byte for
// byte.
func FuzzMultipartToken(f *testing.F) {
	tok := mask(newToken())
	f.Add(formPart("_csrf", "", tok) + formPart("file", "a.txt", "hello") + closing)
	f.Add(formPart("file", "a.txt", "hello") + formPart("_csrf", "", tok) + closing)
	f.Add("--" + boundary + "\r\nContent-Disposition: form-data; name=\"_csrf\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nab=3Dc\r\n" + closing)
	f.Add("")
	f.Add("--" + boundary + "--")
	p := &Protector{field: DefaultFieldName, header: DefaultHeaderName}
	f.Fuzz(func(t *testing.T, body string) {
		cr := &countingReader{r: strings.NewReader(body)}
		r := httptest.NewRequest("POST", "https://shop.example/upload", cr)
		r.Header.Set("Content-Type", "multipart/form-data; boundary="+boundary)
		sent, err := p.sentToken(r)
		if err == nil && sent != "" && !strings.Contains(body, sent) && !strings.Contains(strings.ToLower(body), "quoted-printable") {
			t.Errorf("got token %q, which the body does not hold", sent)
		}
		if cr.n > maxMultipartScan {
			t.Errorf("read %d bytes, want at most %d", cr.n, maxMultipartScan)
		}
		got, err := io.ReadAll(r.Body)
		if err != nil || string(got) != body {
			t.Fatalf("the handler read %q, %v, want the body %q", got, err, body)
		}
	})
}

func TestAFormParsedBeforeTheCheckIsRead(t *testing.T) {
	var got string
	a := newUploadApp(t, func(w http.ResponseWriter, r *http.Request) { got = r.FormValue("name") })
	inner := a.h
	a.h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// An outer middleware that parses every form (and so spends the body).
		if err := r.ParseMultipartForm(1 << 20); err != nil {
			t.Errorf("ParseMultipartForm: %v", err)
		}
		inner.ServeHTTP(w, r)
	})
	code, _ := a.post(strings.NewReader(formPart("name", "", "Ada")+formPart("_csrf", "", a.token)+closing), nil)
	if code != http.StatusOK || got != "Ada" {
		t.Errorf("got %d (err %v) and name %q, want 200 and Ada", code, a.lastErr, got)
	}
}
