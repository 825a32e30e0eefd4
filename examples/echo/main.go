// Command echo serves sesame with echo on http://127.0.0.1:8080: a visit
// counter, login and logout (a new session ID at each login), a flash
// message, forms protected by a CSRF token, and errors rendered as JSON.
//
// echo runs net/http middleware with echo.WrapMiddleware, which hands the
// handlers both sesame's request and its writer; handlers read their session
// with sesame.From(c.Request()). sesame's own refusals (a store outage, a
// cross-origin request, a bad CSRF token) happen in that middleware, outside
// echo's error handling: sesame.Config.ErrorHandler renders them in the same
// JSON format as echo's HTTPErrorHandler renders the handlers' errors.
package main

import (
	"cmp"
	"encoding/json"
	"errors"
	"html/template"
	"io"
	"log"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/sesamego/sesame"
	"github.com/sesamego/sesame/csrf"
)

var page = template.Must(template.New("page").Parse(`<!doctype html>
<title>sesame with echo</title>
{{with .Notice}}<p><b>{{.}}</b></p>{{end}}
<p>Hello {{.Name}}, this is visit {{.Visits}}.</p>
{{if .LoggedIn}}<form method="post" action="/logout">{{.CSRF}}<button>Log out</button></form>
{{else}}<form method="post" action="/login">{{.CSRF}}
  <input name="name" placeholder="your name" required> <button>Log in</button>
</form>{{end}}
`))

func main() {
	h, err := newHandler(sesame.Config{
		// Plain HTTP on your laptop. In production, serve HTTPS and delete
		// this line: the cookie is then Secure and named __Host-sid.
		Cookie: sesame.CookieConfig{AllowInsecureHTTP: true},
	})
	if err != nil {
		log.Fatal(err)
	}
	log.Println("listening on http://127.0.0.1:8080")
	log.Fatal(http.ListenAndServe("127.0.0.1:8080", h))
}

// newHandler returns the app. cfg is the session configuration; its
// ErrorHandler is set here.
func newHandler(cfg sesame.Config) (http.Handler, error) {
	cfg.ErrorHandler = jsonError
	sessions, err := sesame.New(cfg)
	if err != nil {
		return nil, err
	}
	// Without an ErrorHandler of its own, the Protector answers with the
	// sessions' one: jsonError renders every refusal.
	protect, err := csrf.New(csrf.Config{Sessions: sessions})
	if err != nil {
		return nil, err
	}

	e := echo.New()
	e.HideBanner = true
	e.Renderer = renderer{page}
	e.HTTPErrorHandler = echoError
	e.Use(echo.WrapMiddleware(sessions.Handler), echo.WrapMiddleware(protect.Handler))
	e.GET("/", home)
	e.POST("/login", login)
	e.POST("/logout", logout)
	e.GET("/api/me", me)
	return e, nil
}

type renderer struct{ t *template.Template }

func (r renderer) Render(w io.Writer, name string, data any, _ echo.Context) error {
	return r.t.ExecuteTemplate(w, name, data)
}

func home(c echo.Context) error {
	s := sesame.From(c.Request())
	visits, err := s.Increment("visits", 1) // atomic in the store
	if err != nil {
		return err
	}
	name := sesame.GetOr(s, "name", "")
	return c.Render(http.StatusOK, "page", map[string]any{
		"Notice":   s.Flashes().String("notice"), // set by the previous request
		"Name":     cmp.Or(name, "stranger"),
		"LoggedIn": name != "",
		"Visits":   visits,
		"CSRF":     csrf.TemplateField(c.Request()), // <input type="hidden" name="_csrf" ...>
	})
}

func login(c echo.Context) error {
	name := strings.TrimSpace(c.FormValue("name"))
	if name == "" {
		return echo.NewHTTPError(http.StatusBadRequest, "a name is required")
	}
	s := sesame.From(c.Request())
	if err := s.Regenerate(); err != nil { // a new ID at every login
		return err
	}
	s.Put("name", name)
	s.Flash("notice", "Welcome, "+name+"!")
	return c.Redirect(http.StatusSeeOther, "/")
}

func logout(c echo.Context) error {
	s := sesame.From(c.Request())
	s.Destroy()
	s.Flash("notice", "Goodbye!") // after Destroy: a new, anonymous session
	return c.Redirect(http.StatusSeeOther, "/")
}

// me answers the session as JSON, for API clients.
func me(c echo.Context) error {
	s := sesame.From(c.Request())
	if err := s.Err(); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{
		"name":   sesame.GetOr(s, "name", ""),
		"visits": sesame.GetOr(s, "visits", 0),
	})
}

// jsonError is sesame.Config.ErrorHandler: it renders the errors of sesame
// and csrf, which happen in their middleware, as JSON.
func jsonError(w http.ResponseWriter, r *http.Request, err error) {
	code := sesame.StatusCode(err)
	log.Printf("%s %s: %d: %v", r.Method, r.URL.Path, code, err)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"error": message(err)})
}

// echoError is echo's HTTPErrorHandler: the handlers' errors (sesame's
// among them) in the same format.
func echoError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		c.JSON(he.Code, map[string]any{"error": he.Message})
		return
	}
	jsonError(c.Response(), c.Request(), err)
}

// message says what went wrong without revealing detail.
func message(err error) string {
	switch {
	case errors.Is(err, sesame.ErrStoreUnavailable):
		return "sessions are unavailable, try again shortly"
	case errors.Is(err, csrf.ErrMissingToken), errors.Is(err, csrf.ErrBadToken):
		return "missing or invalid CSRF token: reload the page and try again"
	case errors.Is(err, sesame.ErrCrossOrigin):
		return "cross-origin request refused"
	}
	return "internal error"
}
