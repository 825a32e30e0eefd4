// Command loadserver is the HTTP server that bench/load.sh puts under load
// with wrk: one session library (sesame, scs, or none) on a Redis store, with
// a READ and a WRITE endpoint.
//
//	loadserver -lib sesame -store redis -addr 127.0.0.1:8081 -redis 127.0.0.1:6379 -prefix bench:1:
//
// Endpoints:
//
//	/seed   creates a session holding n = 41 and name = "gopher" (Set-Cookie)
//	/read   reads n and name, writes "41 gopher"
//	/write  increments n, writes the new value
//	/count  writes n
//	/stats  writes how many /write requests this process answered with 200
//	/ping   writes "ok" and touches no session
//
// Several processes started with the same -redis and -prefix share their
// sessions. The server exits on SIGINT or SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	scsredis "github.com/alexedwards/scs/redisstore"
	scs "github.com/alexedwards/scs/v2"
	redigo "github.com/gomodule/redigo/redis"
	"github.com/redis/go-redis/v9"

	"github.com/sesamego/sesame"
	"github.com/sesamego/sesame/redisstore"
)

func main() {
	lib := flag.String("lib", "sesame", "session library: sesame, scs or bare (no session)")
	storeName := flag.String("store", "redis", "store: redis (the only one shared between processes)")
	addr := flag.String("addr", "127.0.0.1:8081", "listen address")
	redisAddr := flag.String("redis", envOr("SESAME_REDIS_ADDR", "127.0.0.1:6379"), "Redis host:port")
	prefix := flag.String("prefix", "loadtest:", "Redis key prefix (processes with the same prefix share sessions)")
	withPprof := flag.Bool("pprof", false, "serve net/http/pprof under /debug/pprof/")
	flag.Parse()
	if *storeName != "redis" {
		log.Fatalf("loadserver: -store %q: only redis is supported", *storeName)
	}

	var h handlers
	switch *lib {
	case "sesame":
		h = newSesame(*redisAddr, *prefix)
	case "scs":
		h = newSCS(*redisAddr, *prefix)
	case "bare":
		h = &bare{}
	default:
		log.Fatalf("loadserver: -lib %q: want sesame, scs or bare", *lib)
	}

	var writes atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("/ping", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })
	mux.Handle("/seed", h.wrap(http.HandlerFunc(h.seed)))
	mux.Handle("/read", h.wrap(http.HandlerFunc(h.read)))
	mux.Handle("/count", h.wrap(http.HandlerFunc(h.count)))
	write := h.wrap(http.HandlerFunc(h.write))
	mux.HandleFunc("/write", func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		write.ServeHTTP(sw, r)
		if sw.code == http.StatusOK {
			writes.Add(1)
		}
	})
	mux.HandleFunc("/stats", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%d", writes.Load())
	})

	if *withPprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	}

	srv := &http.Server{Addr: *addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	log.Printf("loadserver: %s on %s, listening on %s", *lib, *storeName, *addr)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
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

type handlers interface {
	wrap(http.Handler) http.Handler
	seed(http.ResponseWriter, *http.Request)
	read(http.ResponseWriter, *http.Request)
	write(http.ResponseWriter, *http.Request)
	count(http.ResponseWriter, *http.Request)
}

func writeInt(w http.ResponseWriter, n int64) { w.Write(strconv.AppendInt(nil, n, 10)) }

// --- sesame -------------------------------------------------------------

type sesameHandlers struct{ m *sesame.Manager }

func newSesame(addr, prefix string) *sesameHandlers {
	client := redis.NewClient(&redis.Options{Addr: addr})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := client.Ping(ctx).Err(); err != nil {
		log.Fatalf("loadserver: no Redis at %s (set SESAME_REDIS_ADDR or -redis): %v", addr, err)
	}
	st, err := redisstore.New(client, redisstore.Options{Prefix: prefix})
	if err != nil {
		log.Fatal(err)
	}
	m, err := sesame.New(sesame.Config{Store: st})
	if err != nil {
		log.Fatal(err)
	}
	return &sesameHandlers{m: m}
}

func (h *sesameHandlers) wrap(next http.Handler) http.Handler { return h.m.Handler(next) }

func (h *sesameHandlers) seed(w http.ResponseWriter, r *http.Request) {
	s := sesame.From(r)
	s.Put("n", 41)
	s.Put("name", "gopher")
	w.Write([]byte("ok"))
}

func (h *sesameHandlers) read(w http.ResponseWriter, r *http.Request) {
	s := sesame.From(r)
	fmt.Fprintf(w, "%d %s", sesame.GetOr(s, "n", 0), sesame.GetOr(s, "name", ""))
}

func (h *sesameHandlers) write(w http.ResponseWriter, r *http.Request) {
	n, err := sesame.From(r).Increment("n", 1)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeInt(w, n)
}

func (h *sesameHandlers) count(w http.ResponseWriter, r *http.Request) {
	writeInt(w, sesame.GetOr(sesame.From(r), "n", int64(0)))
}

// --- scs ----------------------------------------------------------------

type scsHandlers struct{ sm *scs.SessionManager }

func newSCS(addr, prefix string) *scsHandlers {
	pool := &redigo.Pool{
		MaxIdle:     128,
		IdleTimeout: 4 * time.Minute,
		Dial:        func() (redigo.Conn, error) { return redigo.Dial("tcp", addr) },
	}
	c := pool.Get()
	if _, err := c.Do("PING"); err != nil {
		log.Fatalf("loadserver: no Redis at %s (set SESAME_REDIS_ADDR or -redis): %v", addr, err)
	}
	c.Close()
	sm := scs.New()
	sm.Store = scsredis.NewWithPrefix(pool, prefix)
	return &scsHandlers{sm: sm}
}

func (h *scsHandlers) wrap(next http.Handler) http.Handler { return h.sm.LoadAndSave(next) }

func (h *scsHandlers) seed(w http.ResponseWriter, r *http.Request) {
	h.sm.Put(r.Context(), "n", 41)
	h.sm.Put(r.Context(), "name", "gopher")
	w.Write([]byte("ok"))
}

func (h *scsHandlers) read(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	fmt.Fprintf(w, "%d %s", h.sm.GetInt(ctx, "n"), h.sm.GetString(ctx, "name"))
}

func (h *scsHandlers) write(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	n := h.sm.GetInt(ctx, "n") + 1
	h.sm.Put(ctx, "n", n)
	writeInt(w, int64(n))
}

func (h *scsHandlers) count(w http.ResponseWriter, r *http.Request) {
	writeInt(w, int64(h.sm.GetInt(r.Context(), "n")))
}

// --- bare ---------------------------------------------------------------

// bare answers like the others with no session at all: the floor.
type bare struct{ n atomic.Int64 }

func (b *bare) wrap(next http.Handler) http.Handler          { return next }
func (b *bare) seed(w http.ResponseWriter, r *http.Request)  { w.Write([]byte("ok")) }
func (b *bare) read(w http.ResponseWriter, r *http.Request)  { fmt.Fprintf(w, "%d %s", 41, "gopher") }
func (b *bare) write(w http.ResponseWriter, r *http.Request) { writeInt(w, b.n.Add(1)) }
func (b *bare) count(w http.ResponseWriter, r *http.Request) { writeInt(w, b.n.Load()) }
