// Command loadserver is the HTTP server that bench/load.sh puts under load
// with wrk: one session library (sesame, scs, or none) on one store (Redis,
// or memory), serving the endpoints of bench/internal/loadapp.
//
//	loadserver -lib sesame -store redis -addr 127.0.0.1:8081 -redis 127.0.0.1:6379 -prefix bench:1:
//	loadserver -lib sesame -store redis -client autopipeline ...
//	loadserver -lib scs -store memory -addr 127.0.0.1:8081
//
// Endpoints: /seed, /read, /write, /new, /count, /stats and /ping (see
// loadapp). Several processes started with the same -redis and -prefix share
// their sessions. The server exits on SIGINT or SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"log"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/sesamego/sesame/bench/internal/loadapp"
)

func main() {
	var cfg loadapp.Config
	flag.StringVar(&cfg.Lib, "lib", "sesame", "session library: sesame, scs or bare (no session)")
	flag.StringVar(&cfg.Store, "store", "redis", "store: redis (shared between processes) or memory (this process only)")
	flag.StringVar(&cfg.Redis, "redis", envOr("SESAME_REDIS_ADDR", "127.0.0.1:6379"), "Redis host:port")
	flag.StringVar(&cfg.Prefix, "prefix", "loadtest:", "Redis key prefix (processes with the same prefix share sessions)")
	flag.StringVar(&cfg.Client, "client", "pool", "how sesame's Redis store sends commands: pool or autopipeline")
	flag.IntVar(&cfg.PoolSize, "pool", 0, "Redis connection pool size (0: go-redis's default; redigo keeps 128 idle)")
	addr := flag.String("addr", "127.0.0.1:8081", "listen address")
	withPprof := flag.Bool("pprof", false, "serve net/http/pprof under /debug/pprof/")
	flag.Parse()

	app, err := loadapp.New(cfg)
	if err != nil {
		log.Fatalf("loadserver: %v", err)
	}
	defer app.Close()
	handler := app.Handler
	if *withPprof {
		mux := http.NewServeMux()
		mux.Handle("/", app.Handler)
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		handler = mux
	}

	srv := &http.Server{Addr: *addr, Handler: handler, ReadHeaderTimeout: 5 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	log.Printf("loadserver: %s on %s (client %s), listening on %s", cfg.Lib, cfg.Store, cfg.Client, *addr)
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
