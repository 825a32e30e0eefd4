package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sesamego/sesame/store"
)

// RunTokens is the conformance suite for store.TokenStore (remember-me
// tokens). Each subtest gets a store from newStore; selectors and user IDs are
// random, so a store shared server-side is fine.
func RunTokens(t *testing.T, newStore func(t *testing.T) store.TokenStore) {
	ctx := context.Background()
	rnd := func() string {
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	hash := func() []byte {
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		return b
	}
	mk := func(user string) store.Token {
		now := time.Now().Truncate(time.Millisecond)
		return store.Token{Selector: rnd(), UserID: user, Hash: hash(), Created: now, Expires: now.Add(time.Hour)}
	}

	t.Run("a created token looks up exactly", func(t *testing.T) {
		s := newStore(t)
		tok := mk("u-" + rnd())
		if err := s.CreateToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		got, ok, err := s.LookupToken(ctx, tok.Selector)
		if err != nil || !ok {
			t.Fatalf("lookup: ok=%v err=%v", ok, err)
		}
		if got.UserID != tok.UserID || !bytes.Equal(got.Hash, tok.Hash) || got.PrevHash != nil ||
			!got.Expires.Equal(tok.Expires) || !got.Created.Equal(tok.Created) {
			t.Errorf("got %+v, want %+v", got, tok)
		}
	})
	t.Run("a missing or expired token is not found", func(t *testing.T) {
		s := newStore(t)
		if _, ok, err := s.LookupToken(ctx, rnd()); ok || err != nil {
			t.Errorf("missing: ok=%v err=%v", ok, err)
		}
		tok := mk("u-" + rnd())
		tok.Expires = time.Now().Add(-time.Second)
		if err := s.CreateToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		if _, ok, err := s.LookupToken(ctx, tok.Selector); ok || err != nil {
			t.Errorf("expired: ok=%v err=%v", ok, err)
		}
	})
	t.Run("rotation is a compare-and-swap", func(t *testing.T) {
		s := newStore(t)
		tok := mk("u-" + rnd())
		if err := s.CreateToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		at := time.Now().Truncate(time.Millisecond)
		h2 := hash()
		if ok, err := s.RotateToken(ctx, tok.Selector, hash(), h2, at); ok || err != nil {
			t.Fatalf("rotate with a wrong old hash: ok=%v err=%v, want false", ok, err)
		}
		if ok, err := s.RotateToken(ctx, tok.Selector, tok.Hash, h2, at); !ok || err != nil {
			t.Fatalf("rotate: ok=%v err=%v", ok, err)
		}
		got, _, _ := s.LookupToken(ctx, tok.Selector)
		if !bytes.Equal(got.Hash, h2) || !bytes.Equal(got.PrevHash, tok.Hash) || !got.Rotated.Equal(at) {
			t.Errorf("after rotation got hash/prev/rotated %x/%x/%v", got.Hash, got.PrevHash, got.Rotated)
		}
		if ok, _ := s.RotateToken(ctx, tok.Selector, tok.Hash, hash(), at); ok {
			t.Error("a second rotation from the old hash succeeded")
		}
		if ok, err := s.RotateToken(ctx, rnd(), tok.Hash, hash(), at); ok || err != nil {
			t.Errorf("rotating a missing token: ok=%v err=%v", ok, err)
		}
	})
	t.Run("of concurrent rotations from one hash exactly one wins", func(t *testing.T) {
		s := newStore(t)
		tok := mk("u-" + rnd())
		if err := s.CreateToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		var wins atomic.Int64
		var wg sync.WaitGroup
		for i := 0; i < 20; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := s.RotateToken(ctx, tok.Selector, tok.Hash, hash(), time.Now())
				if err != nil {
					t.Error(err)
				}
				if ok {
					wins.Add(1)
				}
			}()
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Errorf("%d of 20 concurrent rotations won, want 1", wins.Load())
		}
	})
	t.Run("delete one and delete all of a user", func(t *testing.T) {
		s := newStore(t)
		user, other := "u-"+rnd(), "u-"+rnd()
		a, b, c := mk(user), mk(user), mk(other)
		for _, tok := range []store.Token{a, b, c} {
			if err := s.CreateToken(ctx, tok); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.DeleteToken(ctx, a.Selector); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteToken(ctx, a.Selector); err != nil {
			t.Errorf("deleting a missing token: %v", err)
		}
		if _, ok, _ := s.LookupToken(ctx, a.Selector); ok {
			t.Error("deleted token still found")
		}
		n, err := s.DeleteUserTokens(ctx, user)
		if err != nil || n != 1 {
			t.Errorf("DeleteUserTokens = %d, %v; want 1", n, err)
		}
		if _, ok, _ := s.LookupToken(ctx, b.Selector); ok {
			t.Error("user's token survived DeleteUserTokens")
		}
		if _, ok, _ := s.LookupToken(ctx, c.Selector); !ok {
			t.Error("another user's token was deleted")
		}
	})
}
