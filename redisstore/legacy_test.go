package redisstore

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sesamego/sesame/store"
)

// The apply of redisstore before the lean script (commit 49c27c7): its
// script (testdata/legacy-apply.lua) and the Go side that fed it, so that
// tests can run an old and a new instance against the same records, as
// during a rolling deploy.

// legacyScript loads the old apply script.
func legacyScript(t testing.TB) *redis.Script {
	t.Helper()
	b, err := os.ReadFile("testdata/legacy-apply.lua")
	if err != nil {
		t.Fatal(err)
	}
	return redis.NewScript(luaHelpers + string(b))
}

// Positions in the ARGV of the old script.
const (
	legNow = iota
	legAt
	legCreate
	legClear
	legExpires
	legTTL
	legSetUser
	legUser
	legIP
	legUserAgent
	legIndexUser
	legIndexHorizon
	legMaxSize
	legCreated
	legID
	legWindow
	legPlains
	legDeletes
	legSets
	legIncrs
	legPushes
	legFixed
)

func legacyFlag(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// legacyArgs is the old applyArgs.
func legacyArgs(s *Store, c store.Change, now time.Time, plains []plainValue) []any {
	at := now
	if !c.Now.IsZero() {
		at = c.Now
	}
	args := make([]any, legFixed)
	args[legNow] = formatNanos(now)
	args[legAt] = formatNanos(at)
	args[legCreate] = legacyFlag(c.Create)
	args[legClear] = legacyFlag(c.Clear)
	args[legExpires], args[legTTL] = "", ""
	if !c.Expires.IsZero() {
		args[legExpires] = formatNanos(c.Expires)
		args[legTTL] = ttl(c.Expires, now)
	} else if c.Create {
		args[legTTL] = "0"
	}
	args[legSetUser] = legacyFlag(c.SetUser)
	args[legUser], args[legIP], args[legUserAgent] = c.UserID, c.IP, c.UserAgent
	args[legIndexUser], args[legIndexHorizon] = "", int64(0)
	args[legMaxSize] = s.maxSize
	args[legCreated] = ""
	if c.Create && !c.Created.IsZero() {
		args[legCreated] = formatNanos(c.Created)
	}
	args[legID], args[legWindow] = c.ID, windowMillis
	args[legPlains] = len(plains)
	args[legDeletes], args[legSets], args[legIncrs], args[legPushes] = len(c.Delete), len(c.Set), len(c.Incr), len(c.Push)
	for _, p := range plains {
		args = append(args, p.field, p.sum, p.value)
	}
	for _, k := range c.Delete {
		args = append(args, valuePrefix+k)
	}
	for k, v := range c.Set {
		sv := v
		if _, pushed := c.Push[k]; !pushed {
			sv = s.compress(v)
		}
		args = append(args, valuePrefix+k, sv, len(v))
	}
	for k, by := range c.Incr {
		args = append(args, valuePrefix+k, strconv.FormatInt(by, 10))
	}
	for k, p := range c.Push {
		elems, keep := p.Values, max(p.Keep, 0)
		if keep > 0 && len(elems) > keep {
			elems = elems[len(elems)-keep:]
		}
		args = append(args, valuePrefix+k, bytes.Join(elems, []byte{','}), len(elems), keep)
	}
	return args
}

// legacyApply is the old Store.apply for an Apply of c to key (no rename):
// it indexes the user first on a login, then runs the old script until it
// neither asks for the index nor for an inflated value. Errors are the
// script's error replies, unmapped.
func legacyApply(ctx context.Context, s *Store, script *redis.Script, key string, c store.Change) error {
	now := s.now()
	keys := []string{s.recordKey(key), s.markerKey(key, markChange, c.ID)}
	args := legacyArgs(s, c, now, nil)
	if c.SetUser && c.UserID != "" && !c.Expires.IsZero() && args[legTTL] != "0" {
		h := horizon(c.Expires, now)
		if err := s.index(ctx, c.UserID, key, h, now); err != nil {
			return err
		}
		args[legIndexUser], args[legIndexHorizon] = c.UserID, h
	}
	var plains []plainValue
	for range maxApplyRuns {
		res, err := script.Run(ctx, s.client, keys, args...).Result()
		if err != nil {
			return err
		}
		if field, ok := needPlain(res); ok {
			p, err := s.plain(ctx, "apply", keys[0], field)
			if err != nil {
				return err
			}
			if p.field != "" {
				plains = append(slices.DeleteFunc(plains, func(q plainValue) bool { return q.field == field }), p)
			}
			h, hz := args[legIndexUser], args[legIndexHorizon]
			args = legacyArgs(s, c, now, plains)
			args[legIndexUser], args[legIndexHorizon] = h, hz
			continue
		}
		uid, exp, ok := needIndex(res)
		if !ok {
			return nil
		}
		h := horizon(time.Unix(0, exp), now)
		if err := s.index(ctx, uid, key, h, now); err != nil {
			return err
		}
		args[legIndexUser], args[legIndexHorizon] = uid, h
	}
	return fmt.Errorf("legacyApply: too many runs")
}
