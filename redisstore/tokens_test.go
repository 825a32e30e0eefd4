package redisstore

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/sesamego/sesame/store"
)

func newToken(user string, life time.Duration) store.Token {
	now := time.Now()
	return store.Token{Selector: rand.Text(), UserID: user, Hash: []byte(rand.Text()), Created: now, Expires: now.Add(life)}
}

func TestTokens(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newStore func(testing.TB, Options) *Store) {
		s := newStore(t, Options{})
		ctx := context.Background()

		t.Run("TTL, index and expiry", func(t *testing.T) {
			tok := newToken("judy", time.Hour)
			tok.PrevHash, tok.Rotated = []byte("\x00prev\xff"), tok.Created.Add(time.Minute)
			if err := s.CreateToken(ctx, tok); err != nil {
				t.Fatal(err)
			}
			got, ok, err := s.LookupToken(ctx, tok.Selector)
			if err != nil || !ok || !bytes.Equal(got.PrevHash, tok.PrevHash) || !got.Rotated.Equal(tok.Rotated) || !got.Created.Equal(tok.Created) {
				t.Errorf("LookupToken = %+v, %v, %v", got, ok, err)
			}
			if pttl, _ := s.client.PTTL(ctx, s.tokenKey(tok.Selector)).Result(); pttl < 59*time.Minute || pttl > time.Hour {
				t.Errorf("token PTTL = %v, want about an hour", pttl)
			}
			if score, err := s.client.ZScore(ctx, s.tokenUserKey("judy"), tok.Selector).Result(); err != nil || int64(score) < tok.Expires.UnixMilli() {
				t.Errorf("index score %v (%v) before the expiry", score, err)
			}
			later := *s
			shift(&later, time.Hour)
			if _, ok, _ := later.LookupToken(ctx, tok.Selector); ok {
				t.Error("a token expired by the store's clock looks up")
			}
			if ok, _ := later.RotateToken(ctx, tok.Selector, tok.Hash, []byte("new"), time.Now()); ok {
				t.Error("an expired token rotated")
			}
		})

		t.Run("DeleteUserTokens across slots", func(t *testing.T) {
			var toks []store.Token
			for range 10 {
				tok := newToken("kim", time.Hour)
				if err := s.CreateToken(ctx, tok); err != nil {
					t.Fatal(err)
				}
				toks = append(toks, tok)
			}
			other := newToken("kim", time.Hour)
			if err := s.CreateToken(ctx, other); err != nil {
				t.Fatal(err)
			}
			// The selector is taken over by another user's token: the stale
			// index entry of kim must not delete it.
			taken := newToken("leo", time.Hour)
			taken.Selector = other.Selector
			if err := s.CreateToken(ctx, taken); err != nil {
				t.Fatal(err)
			}
			n, err := s.DeleteUserTokens(ctx, "kim")
			if err != nil || n != len(toks) {
				t.Errorf("DeleteUserTokens = %d, %v; want %d", n, err, len(toks))
			}
			for _, tok := range toks {
				if _, ok, _ := s.LookupToken(ctx, tok.Selector); ok {
					t.Errorf("token %s survived", tok.Selector)
				}
			}
			if got, ok, _ := s.LookupToken(ctx, taken.Selector); !ok || got.UserID != "leo" {
				t.Errorf("leo's token was deleted")
			}
		})

		t.Run("a failed index write stores no token", func(t *testing.T) {
			if err := s.client.Set(ctx, s.tokenUserKey("max"), "not a zset", 0).Err(); err != nil {
				t.Fatal(err)
			}
			tok := newToken("max", time.Hour)
			if err := s.CreateToken(ctx, tok); !errors.Is(err, store.ErrUnavailable) {
				t.Errorf("err = %v, want ErrUnavailable", err)
			}
			if _, ok, _ := s.LookupToken(ctx, tok.Selector); ok {
				t.Error("the token was stored without its index entry")
			}
		})

		t.Run("an expired token is not stored", func(t *testing.T) {
			tok := newToken("nina", -time.Second)
			if err := s.CreateToken(ctx, tok); err != nil {
				t.Fatal(err)
			}
			if n, _ := s.client.Exists(ctx, s.tokenKey(tok.Selector)).Result(); n != 0 {
				t.Error("an expired token is in Redis")
			}
		})
	})
}
