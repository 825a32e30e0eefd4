package sqlstore

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/sesamego/sesame/store"
)

func TestTokens(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testEngine) {
		s := e.open(t, Options{})
		c := newClock()
		s.now = c.now
		ctx := ctxT(t)
		h1, h2 := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
		tok := store.Token{Selector: "sel-1", UserID: "alice", Hash: h1, Created: c.now(), Expires: c.now().Add(time.Hour)}
		if err := s.CreateToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		got, ok, err := s.LookupToken(ctx, "sel-1")
		if err != nil || !ok || got.PrevHash != nil || !got.Rotated.IsZero() || !bytes.Equal(got.Hash, h1) {
			t.Fatalf("got %+v, %v, %v, want the token with no rotation", got, ok, err)
		}
		at := c.now().Add(time.Minute)
		if ok, err := s.RotateToken(ctx, "sel-1", h1, h2, at); !ok || err != nil {
			t.Fatalf("RotateToken: got %v, %v", ok, err)
		}
		got, _, _ = s.LookupToken(ctx, "sel-1")
		if !bytes.Equal(got.PrevHash, h1) || !bytes.Equal(got.Hash, h2) || !got.Rotated.Equal(at) {
			t.Errorf("after rotation: got %+v", got)
		}
		// Replacing a token keeps nothing of the old one.
		if err := s.CreateToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		if got, _, _ := s.LookupToken(ctx, "sel-1"); got.PrevHash != nil || !got.Rotated.IsZero() || !bytes.Equal(got.Hash, h1) {
			t.Errorf("after replacing: got %+v, want the new token", got)
		}
		// An expired token is neither found, rotated nor counted.
		c.add(time.Hour)
		if _, ok, err := s.LookupToken(ctx, "sel-1"); ok || err != nil {
			t.Errorf("expired Lookup: got %v, %v", ok, err)
		}
		if ok, err := s.RotateToken(ctx, "sel-1", h1, h2, c.now()); ok || err != nil {
			t.Errorf("expired Rotate: got %v, %v", ok, err)
		}
		if n, err := s.DeleteUserTokens(ctx, "alice"); n != 0 || err != nil {
			t.Errorf("DeleteUserTokens of expired ones: got %d, %v, want 0", n, err)
		}
		if _, err := s.Prune(ctx); err != nil {
			t.Fatal(err)
		}
		var n int
		s.db.QueryRow("SELECT COUNT(*) FROM " + s.dialect.quote(s.table+"_tokens")).Scan(&n)
		if n != 0 {
			t.Errorf("after Prune: got %d token rows, want 0", n)
		}
		// Bad input.
		for _, bad := range []store.Token{
			{Selector: "", UserID: "u", Hash: h1},
			{Selector: strings.Repeat("s", 256), UserID: "u", Hash: h1},
			{Selector: "nul\x00", UserID: "u", Hash: h1},
			{Selector: "s", UserID: "u"},
			{Selector: "s", UserID: strings.Repeat("u", 256), Hash: h1},
		} {
			if err := s.CreateToken(ctx, bad); err == nil {
				t.Errorf("CreateToken(%q, %q, %d-byte hash): got no error", bad.Selector, bad.UserID, len(bad.Hash))
			}
		}
		if _, ok, err := s.LookupToken(ctx, "bad\x00"); ok || err != nil {
			t.Errorf("Lookup of a bad selector: got %v, %v, want not found", ok, err)
		}
		if n, err := s.DeleteUserTokens(ctx, ""); n != 0 || err != nil {
			t.Errorf("DeleteUserTokens(\"\"): got %d, %v", n, err)
		}
	})
}
