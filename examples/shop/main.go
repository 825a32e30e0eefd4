package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// options are the command line's settings.
type options struct {
	addr    string
	store   string
	dataDir string
	dev     bool
	devSet  bool // -dev was given explicitly
	tlsCert string
	tlsKey  string
}

// parseFlags reads the command line.
func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("shop", flag.ContinueOnError)
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8080", "address to listen on")
	fs.StringVar(&o.store, "store", "", storeUsage)
	fs.StringVar(&o.dataDir, "data", "data", "directory for the default session store (sessions/) and the generated secret")
	fs.BoolVar(&o.dev, "dev", false, "send cookies without Secure so they work over plain HTTP, and serve /debug\n(default: on when -addr is a loopback address and no TLS certificate is given)")
	fs.StringVar(&o.tlsCert, "tls-cert", "", "TLS certificate file (PEM); serves HTTPS with -tls-key")
	fs.StringVar(&o.tlsKey, "tls-key", "", "TLS private key file (PEM)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	fs.Visit(func(f *flag.Flag) { o.devSet = o.devSet || f.Name == "dev" })
	if (o.tlsCert == "") != (o.tlsKey == "") {
		return o, errors.New("-tls-cert and -tls-key go together")
	}
	if !o.devSet {
		o.dev = isLoopback(o.addr) && o.tlsCert == ""
	}
	return o, nil
}

// isLoopback reports whether addr (host:port) only listens on the loopback
// interface. An empty host listens everywhere.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func main() {
	o, err := parseFlags(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "shop:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o, slog.Default()); err != nil {
		slog.Error("shop: " + err.Error())
		os.Exit(1)
	}
}

// run serves the shop until ctx is done, then shuts down gracefully.
func run(ctx context.Context, o options, logger *slog.Logger) error {
	b, err := openBackend(ctx, o.store, o.dataDir, "", logger)
	if err != nil {
		return err
	}
	defer b.close()
	keys, keySource, err := loadKeyring(os.Getenv(secretsEnv), o.dataDir)
	if err != nil {
		return err
	}
	if o.dev {
		logger.Warn("shop: dev mode: cookies are sent without Secure, and /debug is on; do not use this in production")
	} else if o.tlsCert == "" {
		logger.Warn("shop: cookies are Secure but this server speaks plain HTTP: put it behind an HTTPS proxy, or use -tls-cert/-tls-key (or -dev for local development)")
	}
	if b.tokensInMemory {
		logger.Info("shop: remember-me tokens are kept in memory: restarting logs out remembered users")
	}
	met, metricsHandler, err := newMetrics() // none without -tags metrics
	if err != nil {
		return err
	}
	a, err := newApp(appConfig{
		Store:     b.store,
		Tokens:    b.tokens,
		Keyring:   keys,
		Dev:       o.dev,
		Logger:    logger,
		Met:       met,
		Metrics:   metricsHandler,
		StoreName: b.name,
	})
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           a.cfg.Met.Handler(a), // Cookie header sizes, and warnings past 1 KB
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	scheme := "http"
	if o.tlsCert != "" {
		scheme = "https"
	}
	fmt.Printf("shop: listening on %s://%s\nshop: session store: %s\nshop: secrets: %s\n", scheme, ln.Addr(), b.name, keySource)

	errc := make(chan error, 1)
	go func() {
		if o.tlsCert != "" {
			errc <- srv.ServeTLS(ln, o.tlsCert, o.tlsKey)
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shop: shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return b.close()
}
