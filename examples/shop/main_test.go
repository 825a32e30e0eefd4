package main

import (
	"context"
	"errors"
	"flag"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sesamego/sesame/seal"
)

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantDev bool
		wantErr bool
	}{
		{"the default address is loopback, so dev is on", nil, true, false},
		{"localhost is loopback", []string{"-addr", "localhost:9000"}, true, false},
		{"IPv6 loopback", []string{"-addr", "[::1]:8080"}, true, false},
		{"all interfaces are not", []string{"-addr", ":8080"}, false, false},
		{"a public address is not", []string{"-addr", "192.0.2.10:8080"}, false, false},
		{"TLS turns the default off", []string{"-tls-cert", "c.pem", "-tls-key", "k.pem"}, false, false},
		{"-dev=false on loopback", []string{"-dev=false"}, false, false},
		{"-dev on a public address", []string{"-addr", ":8080", "-dev"}, true, false},
		{"a certificate without a key", []string{"-tls-cert", "c.pem"}, false, true},
		{"stray arguments", []string{"serve"}, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseFlags(tt.args)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error: %v", err, tt.wantErr)
			}
			if err == nil && o.dev != tt.wantDev {
				t.Errorf("dev = %v, want %v", o.dev, tt.wantDev)
			}
		})
	}
	if _, err := parseFlags([]string{"-h"}); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v, want flag.ErrHelp", err)
	}
}

func TestLoadKeyring(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	kr1, src, err := loadKeyring("", dir)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "secrets")
	if src != path {
		t.Errorf("source %q, want %q", src, path)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("secrets file: %v, mode %v; want 0600", err, fi.Mode().Perm())
	}
	kr2, _, err := loadKeyring("", dir)
	if err != nil {
		t.Fatal(err)
	}
	sealed := kr1.Sign("visits", []byte("3"), time.Time{})
	if _, _, err := kr2.Verify("visits", sealed); err != nil {
		t.Errorf("the second start does not reuse the generated secret: %v", err)
	}

	secret, _ := seal.GenerateSecret()
	kr3, src, err := loadKeyring(secret, dir)
	if err != nil || src != secretsEnv {
		t.Fatalf("from the environment: %v, source %q", err, src)
	}
	if _, _, err := kr3.Verify("visits", sealed); err == nil {
		t.Error("SESAME_SECRETS did not replace the generated secret")
	}
	if _, _, err := loadKeyring("tooshort", dir); err == nil || !strings.Contains(err.Error(), secretsEnv) {
		t.Errorf("a bad SESAME_SECRETS: %v", err)
	}

	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := loadKeyring("", dir); err == nil {
		t.Error("a secrets file readable by others was accepted")
	}
}

// TestRun starts the real server (as main does) on a free port, serves a
// page, and shuts down when its context ends.
func TestRun(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		errc <- run(ctx, options{addr: addr, dataDir: filepath.Join(dir, "data"), dev: true}, discard)
	}()
	// The start hashes the demo passwords at bcrypt's default cost, which
	// takes seconds under the race detector on a busy machine.
	var resp *http.Response
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if resp, err = http.Get("http://" + addr + "/healthz"); err == nil {
			break
		}
	}
	if err != nil {
		cancel()
		t.Fatalf("the server did not answer: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /healthz: %d", resp.StatusCode)
	}
	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Errorf("run: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("run did not return after its context ended")
	}
	if fi, err := os.Stat(filepath.Join(dir, "data", "sessions")); err != nil || !fi.IsDir() {
		t.Errorf("no session store in the data directory: %v", err)
	}
}
