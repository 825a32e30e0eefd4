package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sesamego/sesame/store"
)

var discard = slog.New(slog.DiscardHandler)

// openBackendCase is a case of TestOpenBackend.
type openBackendCase struct {
	name       string
	target     func(dir string) string
	wantType   string
	wantName   string
	wantTokens bool // the store keeps the remember-me tokens
}

func TestOpenBackend(t *testing.T) {
	tests := []openBackendCase{
		{"the default is the file store in the data directory", func(string) string { return "" }, "*filestore.Store", "file ", true},
		{"memory", func(string) string { return "memory" }, "*memstore.Store", "memory", false},
		{"file:DIR is the file store", func(dir string) string { return "file:" + filepath.Join(dir, "sessions") }, "*filestore.Store", "file ", true},
	}
	tests = append(tests, sqlBackendCases...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			b, err := openBackend(context.Background(), tt.target(dir), filepath.Join(dir, "data"), "", discard)
			if err != nil {
				t.Fatal(err)
			}
			defer b.close()
			if got := fmt.Sprintf("%T", b.store); got != tt.wantType {
				t.Errorf("store %s, want %s", got, tt.wantType)
			}
			if !strings.HasPrefix(b.name, tt.wantName) {
				t.Errorf("name %q, want %q…", b.name, tt.wantName)
			}
			if _, same := b.tokens.(store.Store); same != tt.wantTokens || b.tokensInMemory == tt.wantTokens {
				t.Errorf("tokens %T (in memory %v), want in the store: %v", b.tokens, b.tokensInMemory, tt.wantTokens)
			}
			if err := b.close(); err != nil {
				t.Errorf("close: %v", err)
			}
			if err := b.close(); err != nil {
				t.Errorf("second close: %v", err)
			}
		})
	}
}

func TestDefaultStoreLivesInTheDataDir(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	b, err := openBackend(context.Background(), "", data, "", discard)
	if err != nil {
		t.Fatal(err)
	}
	defer b.close()
	if fi, err := os.Stat(filepath.Join(data, "sessions")); err != nil || !fi.IsDir() {
		t.Errorf("no sessions directory in the data directory: %v", err)
	}
	if fi, err := os.Stat(data); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("data directory mode = %v, %v; want 0700", fi.Mode().Perm(), err)
	}
	if b, err := os.ReadFile(filepath.Join(data, ".gitignore")); err != nil || !strings.Contains(string(b), "\n*\n") {
		t.Errorf("the data directory's .gitignore = %q, %v; want one ignoring everything", b, err)
	}
}

func TestOpenBackendRejects(t *testing.T) {
	for _, target := range []string{"mongodb://localhost", "memory:x", "file:", "sessions.txt", ":8080", "postgres:nohost"} {
		t.Run(target, func(t *testing.T) {
			b, err := openBackend(context.Background(), target, t.TempDir(), "", discard)
			if err == nil {
				b.close()
				t.Fatalf("openBackend(%q) succeeded", target)
			}
		})
	}
}

func TestRedactURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"postgres://u:secret@db.example:5432/shop?sslmode=require", "db.example:5432"},
		{"redis://:secret@127.0.0.1:6379/0", "127.0.0.1:6379"},
		{"mysql:u:secret@tcp(h)/db", "mysql:…"},
	}
	for _, tt := range tests {
		if got := redactURL(tt.in); got != tt.want {
			t.Errorf("redactURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
