// Command fiber serves sesame with fiber (v2) on http://127.0.0.1:8080: a
// visit counter, login and logout (a new session ID at each login), a flash
// message, forms protected by a CSRF token, and errors rendered as JSON.
//
// fiber runs on fasthttp, not net/http, and its net/http adaptor runs a
// middleware to completion before fiber's handlers, so sesame's Handler
// cannot wrap them. The middleware below uses sesame's explicit API instead:
// Manager.Load gives the request its session, the handlers find it in
// c.UserContext(), and Manager.Save commits it after them and returns the
// headers (Set-Cookie) to add to fiber's response. sesame's errors come back
// as Go errors, so fiber's ErrorHandler renders them with the app's others.
package main

import (
	"bytes"
	"cmp"
	"errors"
	"html/template"
	"log"
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/sesamego/sesame"
	"github.com/sesamego/sesame/csrf"
)

var page = template.Must(template.New("page").Parse(`<!doctype html>
<title>sesame with fiber</title>
{{with .Notice}}<p><b>{{.}}</b></p>{{end}}
<p>Hello {{.Name}}, this is visit {{.Visits}}.</p>
{{if .LoggedIn}}<form method="post" action="/logout">{{.CSRF}}<button>Log out</button></form>
{{else}}<form method="post" action="/login">{{.CSRF}}
  <input name="name" placeholder="your name" required> <button>Log in</button>
</form>{{end}}
`))

func main() {
	app, err := newApp(sesame.Config{
		// Plain HTTP on your laptop. In production, serve HTTPS and delete
		// this line: the cookie is then Secure and named __Host-sid.
		Cookie: sesame.CookieConfig{AllowInsecureHTTP: true},
	})
	if err != nil {
		log.Fatal(err)
	}
	log.Println("listening on http://127.0.0.1:8080")
	log.Fatal(app.Listen("127.0.0.1:8080"))
}

// newApp returns the app for the session configuration cfg.
func newApp(cfg sesame.Config) (*fiber.App, error) {
	sessions, err := sesame.New(cfg)
	if err != nil {
		return nil, err
	}
	protect, err := csrf.New(csrf.Config{Sessions: sessions})
	if err != nil {
		return nil, err
	}
	a := &server{protect: protect}
	app := fiber.New(fiber.Config{ErrorHandler: jsonError, DisableStartupMessage: true})
	app.Use(sessionsMiddleware(sessions, protect))
	app.Get("/", a.home)
	app.Post("/login", a.login)
	app.Post("/logout", a.logout)
	app.Get("/api/me", a.me)
	return app, nil
}

// sessionsMiddleware is sesame's middleware for fiber, built on the explicit
// API. Unsafe requests from other origins (Load) and without the session's
// CSRF token (Check) are refused with an error that fiber's ErrorHandler
// renders. The session is committed after the handlers, before fiber sends
// the response; when that fails nothing is stored and the error replaces
// the handler's response.
func sessionsMiddleware(m *sesame.Manager, protect *csrf.Protector) fiber.Handler {
	return func(c *fiber.Ctx) error {
		r, err := request(c)
		if err != nil {
			return err
		}
		if r, err = m.Load(r); err != nil {
			return err // cross-origin: sesame.ErrCrossOrigin (403)
		}
		if err := protect.Check(r); err != nil {
			return err // csrf.ErrMissingToken, csrf.ErrBadToken (403) or a store outage (503)
		}
		c.SetUserContext(r.Context())
		handlerErr := c.Next()
		h, err := m.Save(r)
		if err != nil {
			c.Response().Reset()
			return err // a store outage (503): nothing was stored
		}
		for k, vs := range h {
			if k == "Cache-Control" && len(c.Response().Header.Peek(k)) > 0 {
				continue // the handler's own Cache-Control wins
			}
			for _, v := range vs {
				c.Response().Header.Add(k, v)
			}
		}
		return handlerErr
	}
}

// request returns fiber's request as the *http.Request sesame reads. Its
// strings are copies: fasthttp reuses its buffers once the handler returns,
// and the session may keep what it read (the user agent, for
// Session.SetUser). fiber's adaptor.ConvertRequest shares those buffers.
func request(c *fiber.Ctx) (*http.Request, error) {
	body := bytes.Clone(c.Body())
	r, err := http.NewRequest(c.Method(), string(c.Request().RequestURI()), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	r.Host = string(c.Request().Host())
	r.RemoteAddr = c.Context().RemoteAddr().String()
	r.TLS = c.Context().TLSConnectionState()
	r.ContentLength = int64(len(body))
	c.Request().Header.VisitAll(func(k, v []byte) {
		r.Header.Add(string(k), string(v))
	})
	return r, nil
}

// session returns the request's session.
func session(c *fiber.Ctx) *sesame.Session { return sesame.FromContext(c.UserContext()) }

type server struct{ protect *csrf.Protector }

func (a *server) home(c *fiber.Ctx) error {
	s := session(c)
	visits, err := s.Increment("visits", 1) // atomic in the store
	if err != nil {
		return err
	}
	name := sesame.GetOr(s, "name", "")
	c.Type("html", "utf-8")
	return page.Execute(c, map[string]any{
		"Notice":   s.Flashes().String("notice"), // set by the previous request
		"Name":     cmp.Or(name, "stranger"),
		"LoggedIn": name != "",
		"Visits":   visits,
		"CSRF":     a.protect.TemplateField(s), // <input type="hidden" name="_csrf" ...>
	})
}

func (a *server) login(c *fiber.Ctx) error {
	name := strings.TrimSpace(c.FormValue("name"))
	if name == "" {
		return fiber.NewError(http.StatusBadRequest, "a name is required")
	}
	s := session(c)
	if err := s.Regenerate(); err != nil { // a new ID at every login
		return err
	}
	s.Put("name", name) // Put encodes at once: fiber's strings may be reused after
	s.SetUser(name)
	s.Flash("notice", "Welcome, "+name+"!")
	return c.Redirect("/", http.StatusSeeOther)
}

func (a *server) logout(c *fiber.Ctx) error {
	s := session(c)
	s.Destroy()
	s.Flash("notice", "Goodbye!") // after Destroy: a new, anonymous session
	return c.Redirect("/", http.StatusSeeOther)
}

// me answers the session as JSON, for API clients.
func (a *server) me(c *fiber.Ctx) error {
	s := session(c)
	if err := s.Err(); err != nil {
		return err
	}
	return c.JSON(fiber.Map{
		"name":   sesame.GetOr(s, "name", ""),
		"visits": sesame.GetOr(s, "visits", 0),
	})
}

// jsonError is fiber's ErrorHandler: fiber's own errors, the handlers', and
// sesame's and csrf's (a store outage, a refused cross-origin request, a
// missing or bad CSRF token), all as JSON.
func jsonError(c *fiber.Ctx, err error) error {
	code, msg := sesame.StatusCode(err), message(err)
	var fe *fiber.Error
	if errors.As(err, &fe) {
		code, msg = fe.Code, fe.Message
	} else {
		log.Printf("%s %s: %d: %v", c.Method(), c.Path(), code, err)
	}
	c.Set("Cache-Control", "no-store")
	return c.Status(code).JSON(fiber.Map{"error": msg})
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
