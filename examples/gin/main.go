// Command gin serves sesame with gin on http://127.0.0.1:8080: a visit
// counter, login and logout (a new session ID at each login), a flash
// message, forms protected by a CSRF token, and errors rendered as JSON.
//
// gin's handlers write through c.Writer, which wraps the ResponseWriter gin
// itself was given. So sesame's middleware wraps the whole engine: then that
// writer is sesame's, the session is committed before the first byte, and
// handlers read their session with sesame.From(c.Request). (A gin middleware
// that runs sesame's Handler and hands on c.Request but not the writer makes
// gin write around sesame: new sessions would lose their cookie. sesame
// reports that at Error; main_test.go shows it.)
package main

import (
	"cmp"
	"encoding/json"
	"errors"
	"html/template"
	"log"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/sesamego/sesame"
	"github.com/sesamego/sesame/csrf"
)

var page = template.Must(template.New("page").Parse(`<!doctype html>
<title>sesame with gin</title>
{{with .Notice}}<p><b>{{.}}</b></p>{{end}}
<p>Hello {{.Name}}, this is visit {{.Visits}}.</p>
{{if .LoggedIn}}<form method="post" action="/logout">{{.CSRF}}<button>Log out</button></form>
{{else}}<form method="post" action="/login">{{.CSRF}}
  <input name="name" placeholder="your name" required> <button>Log in</button>
</form>{{end}}
`))

func main() {
	gin.SetMode(gin.ReleaseMode)
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

// newHandler returns the app: the gin engine inside sesame's middleware and
// the CSRF Protector. cfg is the session configuration; its ErrorHandler is
// set here.
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
	return sessions.Handler(protect.Handler(newEngine())), nil
}

// newEngine returns the gin engine with the app's routes, after the given
// middleware.
func newEngine(middleware ...gin.HandlerFunc) *gin.Engine {
	e := gin.New()
	e.Use(gin.Recovery())
	e.Use(middleware...)
	e.SetHTMLTemplate(page)
	e.GET("/", home)
	e.POST("/login", login)
	e.POST("/logout", logout)
	e.GET("/api/me", me)
	return e
}

func home(c *gin.Context) {
	s := sesame.From(c.Request)
	visits, err := s.Increment("visits", 1) // atomic in the store
	if err != nil {
		abortJSON(c, err)
		return
	}
	name := sesame.GetOr(s, "name", "")
	c.HTML(http.StatusOK, "page", gin.H{
		"Notice":   s.Flashes().String("notice"), // set by the previous request
		"Name":     cmp.Or(name, "stranger"),
		"LoggedIn": name != "",
		"Visits":   visits,
		"CSRF":     csrf.TemplateField(c.Request), // <input type="hidden" name="_csrf" ...>
	})
}

func login(c *gin.Context) {
	name := strings.TrimSpace(c.PostForm("name"))
	if name == "" {
		c.JSON(http.StatusBadRequest, gin.H{"error": "a name is required"})
		return
	}
	s := sesame.From(c.Request)
	if err := s.Regenerate(); err != nil { // a new ID at every login
		abortJSON(c, err)
		return
	}
	s.Put("name", name)
	s.Flash("notice", "Welcome, "+name+"!")
	c.Redirect(http.StatusSeeOther, "/")
}

func logout(c *gin.Context) {
	s := sesame.From(c.Request)
	s.Destroy()
	s.Flash("notice", "Goodbye!") // after Destroy: a new, anonymous session
	c.Redirect(http.StatusSeeOther, "/")
}

// me answers the session as JSON, for API clients.
func me(c *gin.Context) {
	s := sesame.From(c.Request)
	if err := s.Err(); err != nil {
		abortJSON(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{
		"name":   sesame.GetOr(s, "name", ""),
		"visits": sesame.GetOr(s, "visits", 0),
	})
}

// jsonError renders the errors of sesame and csrf (a store outage, a refused
// cross-origin request, a missing or bad CSRF token) as JSON. They happen
// outside gin, in the middleware around the engine: this is
// sesame.Config.ErrorHandler.
func jsonError(w http.ResponseWriter, r *http.Request, err error) {
	code := sesame.StatusCode(err)
	log.Printf("%s %s: %d: %v", r.Method, r.URL.Path, code, err)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"error": message(err)})
}

// abortJSON renders an error of sesame met inside a gin handler in the same
// format.
func abortJSON(c *gin.Context, err error) {
	c.Header("Cache-Control", "no-store")
	c.AbortWithStatusJSON(sesame.StatusCode(err), gin.H{"error": message(err)})
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
