package filestore

import (
	"testing"

	"github.com/sesamego/sesame/store"
	"github.com/sesamego/sesame/storetest"
)

func TestTokenConformance(t *testing.T) {
	storetest.RunTokens(t, func(t *testing.T) store.TokenStore {
		s, err := New(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestTokensAreSharedByTwoStoresOnOneDirectory(t *testing.T) {
	dir := t.TempDir()
	a, err := New(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	tok := store.Token{Selector: "sel", UserID: "1", Hash: []byte("h"), Expires: a.now().Add(1e12)}
	if err := a.CreateToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if n, err := b.DeleteUserTokens(ctx, "1"); err != nil || n != 1 {
		t.Fatalf("DeleteUserTokens through the other store = %d, %v; want 1", n, err)
	}
	if _, ok, err := a.LookupToken(ctx, "sel"); ok || err != nil {
		t.Errorf("the token survived its deletion through another store: ok %v, err %v", ok, err)
	}
}
