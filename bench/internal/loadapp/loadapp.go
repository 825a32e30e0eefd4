// Package loadapp is the HTTP app that bench/cmd/loadserver serves to wrk and
// bench/cmd/rediscpu drives in process: one session library (sesame, scs, or
// none) on one store (Redis or memory), with the same endpoints and the
// same response bodies for every library, so that the difference between
// them is the session work.
//
// Endpoints:
//
//	/seed   creates a session holding n = 41 and name = "gopher" (Set-Cookie)
//	/read   reads n and name, writes "41 gopher"
//	/write  increments n, writes the new value
//	/new    puts name = "gopher" into a session; sent without a cookie, every
//	        request creates a session
//	/count  writes n
//	/stats  writes how many /write requests this app answered with 200
//	/ping   writes "ok" and touches no session
package loadapp

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	scsredis "github.com/alexedwards/scs/redisstore"
	scs "github.com/alexedwards/scs/v2"
	scsmem "github.com/alexedwards/scs/v2/memstore"
	redigo "github.com/gomodule/redigo/redis"
	"github.com/redis/go-redis/v9"

	"github.com/sesamego/sesame"
	"github.com/sesamego/sesame/memstore"
	"github.com/sesamego/sesame/redisstore"
)

// Config chooses the library, the store and, for sesame on Redis, how the
// store talks to Redis.
type Config struct {
	// Lib is "sesame", "scs" or "bare" (no session at all: the floor).
	Lib string
	// Store is "redis" (shared by every app with the same Redis and
	// Prefix) or "memory" (one process). Ignored by bare.
	Store string
	// Redis is the Redis host:port and Prefix starts every key.
	Redis, Prefix string
	// Client is how sesame's store reaches Redis: "pool" (go-redis, one
	// command per connection at a time) or "autopipeline"
	// (redisstore.Options.AutoPipeline). Empty means pool.
	Client string
	// PoolSize is go-redis's (and redigo's MaxIdle) pool size; zero means
	// go-redis's default (10 per CPU) and 128 idle redigo connections.
	PoolSize int
}

// Libs, Stores and Clients list the accepted values of Config's fields.
var (
	Libs    = []string{"bare", "sesame", "scs"}
	Stores  = []string{"redis", "memory"}
	Clients = []string{"pool", "autopipeline"}
)

// App is a running app.
type App struct {
	// Handler serves the endpoints.
	Handler http.Handler
	// Writes counts the /write requests answered with 200.
	Writes atomic.Int64

	close func()
}

// Close releases the app's connections.
func (a *App) Close() {
	if a.close != nil {
		a.close()
	}
}

// library is one session library's handlers.
type library interface {
	wrap(http.Handler) http.Handler
	seed(http.ResponseWriter, *http.Request)
	read(http.ResponseWriter, *http.Request)
	write(http.ResponseWriter, *http.Request)
	create(http.ResponseWriter, *http.Request)
	count(http.ResponseWriter, *http.Request)
}

// New opens the app cfg describes; it fails when Redis does not answer.
func New(cfg Config) (*App, error) {
	if cfg.Store == "" {
		cfg.Store = "redis"
	}
	if cfg.Client == "" {
		cfg.Client = "pool"
	}
	if cfg.Store != "redis" && cfg.Store != "memory" {
		return nil, fmt.Errorf("loadapp: store %q: want redis or memory", cfg.Store)
	}
	if cfg.Client != "pool" && cfg.Client != "autopipeline" {
		return nil, fmt.Errorf("loadapp: client %q: want pool or autopipeline", cfg.Client)
	}
	a := &App{}
	var lib library
	var err error
	switch cfg.Lib {
	case "sesame":
		lib, a.close, err = newSesame(cfg)
	case "scs":
		lib, a.close, err = newSCS(cfg)
	case "bare":
		lib = &bare{}
	default:
		return nil, fmt.Errorf("loadapp: lib %q: want sesame, scs or bare", cfg.Lib)
	}
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/ping", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })
	mux.Handle("/seed", lib.wrap(http.HandlerFunc(lib.seed)))
	mux.Handle("/read", lib.wrap(http.HandlerFunc(lib.read)))
	mux.Handle("/new", lib.wrap(http.HandlerFunc(lib.create)))
	mux.Handle("/count", lib.wrap(http.HandlerFunc(lib.count)))
	write := lib.wrap(http.HandlerFunc(lib.write))
	mux.HandleFunc("/write", func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		write.ServeHTTP(sw, r)
		if sw.code == http.StatusOK {
			a.Writes.Add(1)
		}
	})
	mux.HandleFunc("/stats", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%d", a.Writes.Load())
	})
	a.Handler = mux
	return a, nil
}

// statusWriter remembers the response's status code.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func writeInt(w http.ResponseWriter, n int64) { w.Write(strconv.AppendInt(make([]byte, 0, 20), n, 10)) }

func writeRead(w http.ResponseWriter, n int, name string) {
	b := make([]byte, 0, 32)
	b = strconv.AppendInt(b, int64(n), 10)
	b = append(b, ' ')
	b = append(b, name...)
	w.Write(b)
}

var okBody = []byte("ok")

// ping checks that Redis answers.
func ping(addr string) error {
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("loadapp: no Redis at %s: %w", addr, err)
	}
	return nil
}

// --- sesame -------------------------------------------------------------

type sesameLib struct{ m *sesame.Manager }

func newSesame(cfg Config) (library, func(), error) {
	if cfg.Store == "memory" {
		m, err := sesame.New(sesame.Config{Store: memstore.New()})
		return &sesameLib{m: m}, nil, err
	}
	if err := ping(cfg.Redis); err != nil {
		return nil, nil, err
	}
	client := redis.NewClient(&redis.Options{Addr: cfg.Redis, PoolSize: cfg.PoolSize})
	st, err := redisstore.New(client, redisstore.Options{Prefix: cfg.Prefix, AutoPipeline: cfg.Client == "autopipeline"})
	if err != nil {
		client.Close()
		return nil, nil, err
	}
	m, err := sesame.New(sesame.Config{Store: st})
	if err != nil {
		client.Close()
		return nil, nil, err
	}
	return &sesameLib{m: m}, func() { client.Close() }, nil
}

func (h *sesameLib) wrap(next http.Handler) http.Handler { return h.m.Handler(next) }

func (h *sesameLib) seed(w http.ResponseWriter, r *http.Request) {
	s := sesame.From(r)
	s.Put("n", 41)
	s.Put("name", "gopher")
	w.Write(okBody)
}

func (h *sesameLib) read(w http.ResponseWriter, r *http.Request) {
	s := sesame.From(r)
	writeRead(w, sesame.GetOr(s, "n", 0), sesame.GetOr(s, "name", ""))
}

func (h *sesameLib) write(w http.ResponseWriter, r *http.Request) {
	n, err := sesame.From(r).Increment("n", 1)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeInt(w, n)
}

func (h *sesameLib) create(w http.ResponseWriter, r *http.Request) {
	sesame.From(r).Put("name", "gopher")
	w.Write(okBody)
}

func (h *sesameLib) count(w http.ResponseWriter, r *http.Request) {
	writeInt(w, sesame.GetOr(sesame.From(r), "n", int64(0)))
}

// --- scs ----------------------------------------------------------------

type scsLib struct{ sm *scs.SessionManager }

func newSCS(cfg Config) (library, func(), error) {
	sm := scs.New()
	if cfg.Store == "memory" {
		sm.Store = scsmem.New()
		return &scsLib{sm: sm}, nil, nil
	}
	if err := ping(cfg.Redis); err != nil {
		return nil, nil, err
	}
	idle := cfg.PoolSize
	if idle == 0 {
		idle = 128
	}
	pool := &redigo.Pool{
		MaxIdle:     idle,
		IdleTimeout: 4 * time.Minute,
		Dial:        func() (redigo.Conn, error) { return redigo.Dial("tcp", cfg.Redis) },
	}
	sm.Store = scsredis.NewWithPrefix(pool, cfg.Prefix)
	return &scsLib{sm: sm}, func() { pool.Close() }, nil
}

func (h *scsLib) wrap(next http.Handler) http.Handler { return h.sm.LoadAndSave(next) }

func (h *scsLib) seed(w http.ResponseWriter, r *http.Request) {
	h.sm.Put(r.Context(), "n", 41)
	h.sm.Put(r.Context(), "name", "gopher")
	w.Write(okBody)
}

func (h *scsLib) read(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	writeRead(w, h.sm.GetInt(ctx, "n"), h.sm.GetString(ctx, "name"))
}

func (h *scsLib) write(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	n := h.sm.GetInt(ctx, "n") + 1
	h.sm.Put(ctx, "n", n)
	writeInt(w, int64(n))
}

func (h *scsLib) create(w http.ResponseWriter, r *http.Request) {
	h.sm.Put(r.Context(), "name", "gopher")
	w.Write(okBody)
}

func (h *scsLib) count(w http.ResponseWriter, r *http.Request) {
	writeInt(w, int64(h.sm.GetInt(r.Context(), "n")))
}

// --- bare ---------------------------------------------------------------

// bare answers like the others with no session at all: the floor.
type bare struct{ n atomic.Int64 }

// Package variables, so that the compiler cannot fold the READ response.
var bareN, bareName = 41, "gopher"

func (b *bare) wrap(next http.Handler) http.Handler           { return next }
func (b *bare) seed(w http.ResponseWriter, r *http.Request)   { w.Write(okBody) }
func (b *bare) read(w http.ResponseWriter, r *http.Request)   { writeRead(w, bareN, bareName) }
func (b *bare) write(w http.ResponseWriter, r *http.Request)  { writeInt(w, b.n.Add(1)) }
func (b *bare) create(w http.ResponseWriter, r *http.Request) { w.Write(okBody) }
func (b *bare) count(w http.ResponseWriter, r *http.Request)  { writeInt(w, b.n.Load()) }
