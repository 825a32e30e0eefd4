package redisstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sesamego/sesame/store"
)

// Remember-me tokens ([store.TokenStore]) live beside the sessions: each token
// is a hash, prefix+"t:"+selector, with a TTL, and each user has an index of
// their tokens, prefix+"tu:"+userID, a sorted set of selectors scored by the
// token's expiry (Unix ms), which never changes. As for sessions, the index
// entry is written before the token, so in a Cluster an entry may be stale
// but a token is never missing from its user's index: DeleteUserTokens ("log
// out everywhere", theft detection) cannot miss one.

// Token hash fields.
const (
	tokenUser     = "u"
	tokenHash     = "h"
	tokenPrevHash = "p"
	tokenRotated  = "r" // Unix ns, absent before the first rotation
	tokenCreated  = "c" // Unix ns
	tokenExpires  = "e" // Unix ns
)

func (s *Store) tokenKey(selector string) string   { return s.prefix + "t:" + selector }
func (s *Store) tokenUserKey(userID string) string { return s.prefix + "tu:" + userID }

// createTokenScript replaces the token KEYS[1] with the fields in ARGV[2...]
// and gives it the TTL ARGV[1] (ms).
var createTokenScript = redis.NewScript(`
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
`)

// rotateTokenScript swaps the hash of the token KEYS[1], live at ARGV[1]
// (ns), from ARGV[2] to ARGV[3], keeping the old one and the rotation time
// ARGV[4] (ns). Replies 1 when it swapped.
var rotateTokenScript = redis.NewScript(luaHelpers + `
local m = redis.call('HMGET', KEYS[1], 'e', 'h')
if not live(m[1], false, ARGV[1]) or m[2] ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], 'p', m[2], 'h', ARGV[3], 'r', ARGV[4])
return 1
`)

// deleteUserTokenScript deletes the token KEYS[1] if it belongs to the user
// ARGV[1]. Replies 1 when it deleted a token live at ARGV[2] (ns), 0 when it
// deleted a dead one, -1 otherwise.
var deleteUserTokenScript = redis.NewScript(luaHelpers + `
local m = redis.call('HMGET', KEYS[1], 'u', 'e')
if m[1] ~= ARGV[1] then return -1 end
redis.call('DEL', KEYS[1])
if live(m[2], false, ARGV[2]) then return 1 end
return 0
`)

// CreateToken implements [store.TokenStore]. It indexes the token for its
// user, then writes it: two round trips. A token that has already expired
// is not stored.
func (s *Store) CreateToken(ctx context.Context, t store.Token) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("redisstore: create token: %w", err)
	}
	now := s.now()
	ttl := ttl(t.Expires, now)
	if ttl == "0" {
		// Dead on arrival; make sure no older token keeps the selector.
		if err := s.client.Del(ctx, s.tokenKey(t.Selector)).Err(); err != nil {
			return fail(ctx, "create token", err)
		}
		return nil
	}
	score := t.Expires.UnixMilli() + 1
	err := indexScript.Run(ctx, s.client, []string{s.tokenUserKey(t.UserID)},
		t.Selector, score, now.UnixMilli(), indexMargin.Milliseconds()).Err()
	if err != nil {
		return fail(ctx, "create token", err)
	}
	args := []any{ttl,
		tokenUser, t.UserID,
		tokenHash, t.Hash,
		tokenCreated, formatNanos(t.Created),
		tokenExpires, formatNanos(t.Expires),
	}
	if t.PrevHash != nil {
		args = append(args, tokenPrevHash, t.PrevHash)
	}
	if !t.Rotated.IsZero() {
		args = append(args, tokenRotated, formatNanos(t.Rotated))
	}
	if err := createTokenScript.Run(ctx, s.client, []string{s.tokenKey(t.Selector)}, args...).Err(); err != nil {
		return fail(ctx, "create token", err)
	}
	return nil
}

// LookupToken implements [store.TokenStore] with one HGETALL.
func (s *Store) LookupToken(ctx context.Context, selector string) (store.Token, bool, error) {
	if err := ctx.Err(); err != nil {
		return store.Token{}, false, fmt.Errorf("redisstore: lookup token: %w", err)
	}
	f, err := s.client.HGetAll(ctx, s.tokenKey(selector)).Result()
	if err != nil {
		return store.Token{}, false, fail(ctx, "lookup token", err)
	}
	if len(f) == 0 {
		return store.Token{}, false, nil
	}
	t := store.Token{Selector: selector, UserID: f[tokenUser], Hash: []byte(f[tokenHash])}
	if p, ok := f[tokenPrevHash]; ok {
		t.PrevHash = []byte(p)
	}
	var errs []error
	var e error
	t.Expires, e = parseNanos(f[tokenExpires])
	errs = append(errs, e)
	t.Created, e = parseNanos(f[tokenCreated])
	errs = append(errs, e)
	if r, ok := f[tokenRotated]; ok {
		t.Rotated, e = parseNanos(r)
		errs = append(errs, e)
	}
	if err := errors.Join(errs...); err != nil {
		return store.Token{}, false, fmt.Errorf("redisstore: lookup token: corrupt token: %w", err)
	}
	if !t.Expires.After(s.now()) {
		return store.Token{}, false, nil
	}
	return t, true, nil
}

// RotateToken implements [store.TokenStore] with one compare-and-swap
// script.
func (s *Store) RotateToken(ctx context.Context, selector string, oldHash, newHash []byte, at time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("redisstore: rotate token: %w", err)
	}
	n, err := rotateTokenScript.Run(ctx, s.client, []string{s.tokenKey(selector)},
		formatNanos(s.now()), oldHash, newHash, formatNanos(at)).Int()
	if err != nil {
		return false, fail(ctx, "rotate token", err)
	}
	return n == 1, nil
}

// DeleteToken implements [store.TokenStore]. The token's index entry is left
// to expire; readers of the index skip it.
func (s *Store) DeleteToken(ctx context.Context, selector string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("redisstore: delete token: %w", err)
	}
	if err := s.client.Del(ctx, s.tokenKey(selector)).Err(); err != nil {
		return fail(ctx, "delete token", err)
	}
	return nil
}

// DeleteUserTokens implements [store.TokenStore]: every token named by the
// user's index is deleted by a script that checks it still belongs to
// userID, in one pipeline. It returns the number of live tokens deleted.
func (s *Store) DeleteUserTokens(ctx context.Context, userID string) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("redisstore: delete user tokens: %w", err)
	}
	idx := s.tokenUserKey(userID)
	selectors, err := s.client.ZRange(ctx, idx, 0, -1).Result()
	if err != nil {
		return 0, fail(ctx, "delete user tokens", err)
	}
	if len(selectors) == 0 {
		return 0, nil
	}
	now := formatNanos(s.now())
	cmds := make([]*redis.Cmd, len(selectors))
	_, err = s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, sel := range selectors {
			cmds[i] = deleteUserTokenScript.Eval(ctx, p, []string{s.tokenKey(sel)}, userID, now)
		}
		return nil
	})
	if err != nil {
		return 0, fail(ctx, "delete user tokens", err)
	}
	n := 0
	var gone []any
	for i, cmd := range cmds {
		r, _ := cmd.Int()
		if r == 1 {
			n++
		}
		if r >= 0 {
			gone = append(gone, selectors[i])
		}
	}
	if len(gone) > 0 {
		if err := s.client.ZRem(ctx, idx, gone...).Err(); err != nil {
			return n, fail(ctx, "delete user tokens", err)
		}
	}
	return n, nil
}
