package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"

	"github.com/sesamego/sesame/store"
)

// scanCount is the COUNT hint of the SCANs of List and Prune: about how many
// keys each round trip covers.
const scanCount = 500

// masters returns a client for every server that holds keys: the masters of a
// Cluster, the shards of a Ring, or the client itself.
func (s *Store) masters(ctx context.Context) ([]*redis.Client, error) {
	var (
		mu    sync.Mutex
		nodes []*redis.Client
	)
	collect := func(_ context.Context, c *redis.Client) error {
		mu.Lock()
		nodes = append(nodes, c)
		mu.Unlock()
		return nil
	}
	var err error
	switch c := s.client.(type) {
	case *redis.Client:
		return []*redis.Client{c}, nil
	case *redis.ClusterClient:
		err = c.ForEachMaster(ctx, collect)
	case *redis.Ring:
		err = c.ForEachShard(ctx, collect)
	default:
		return nil, fmt.Errorf("redisstore: cannot scan the servers of a %T", s.client)
	}
	return nodes, err
}

// scan calls fn with every batch of keys matching the glob pattern on every
// server, until fn returns an error.
func (s *Store) scan(ctx context.Context, op, pattern string, fn func([]string) error) error {
	nodes, err := s.masters(ctx)
	if err != nil {
		return fail(ctx, op, err)
	}
	for _, node := range nodes {
		var cursor uint64
		for {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("redisstore: %s: %w", op, err)
			}
			keys, next, err := node.Scan(ctx, cursor, pattern, scanCount).Result()
			if err != nil {
				return fail(ctx, op, err)
			}
			if len(keys) > 0 {
				if err := fn(keys); err != nil {
					return err
				}
			}
			if next == 0 {
				break
			}
			cursor = next
		}
	}
	return nil
}

// List implements [store.Lister] with SCAN over the record keys on every
// master (in a Cluster) and one pipelined HGETALL per batch. Records are
// passed with their values. SCAN may return a key twice; List reports each
// record once.
func (s *Store) List(ctx context.Context, fn func(store.Entry) error) error {
	prefix := s.recordKey("")
	seen := make(map[string]struct{})
	err := s.scan(ctx, "list", globEscape(prefix)+"*", func(keys []string) error {
		cmds := make([]*redis.MapStringStringCmd, len(keys))
		_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, k := range keys {
				cmds[i] = p.HGetAll(ctx, k)
			}
			return nil
		})
		if err != nil {
			return fail(ctx, "list", err)
		}
		now := s.now()
		for i, cmd := range cmds {
			key := strings.TrimPrefix(keys[i], prefix)
			if !store.ValidKey(key) {
				continue
			}
			if _, dup := seen[key]; dup {
				continue
			}
			seen[key] = struct{}{}
			rec, ok, err := s.decode(cmd.Val(), true, now)
			if err != nil {
				return fmt.Errorf("redisstore: list: record %s: %w", key, err)
			}
			if !ok {
				continue
			}
			if err := fn(store.Entry{Key: key, Record: rec}); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, store.ErrStop) {
		return nil
	}
	return err
}

// Prune implements [store.Pruner]. Redis expires records itself (each has a
// TTL), so Prune usually finds nothing; it deletes the records that are
// expired by this process's clock but still held by Redis (when the Redis
// server's clock runs behind), and the user index entries (of sessions and of
// remember-me tokens) whose horizon has passed. It SCANs every record, in batches, so run it rarely; it returns the
// number of records it deleted.
func (s *Store) Prune(ctx context.Context) (int, error) {
	n := 0
	now := s.now()
	nowNanos := formatNanos(now)
	err := s.scan(ctx, "prune", globEscape(s.recordKey(""))+"*", func(keys []string) error {
		cmds := make([]*redis.SliceCmd, len(keys))
		_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, k := range keys {
				cmds[i] = p.HMGet(ctx, k, fieldExpires, fieldMoving)
			}
			return nil
		})
		if err != nil {
			return fail(ctx, "prune", err)
		}
		var dead []string
		for i, cmd := range cmds {
			v := cmd.Val()
			if len(v) != 2 || v[1] != nil {
				continue // missing reply, or moving
			}
			exp, _ := v[0].(string)
			if t, err := parseNanos(exp); err == nil && t.After(now) {
				continue
			}
			dead = append(dead, keys[i])
		}
		if len(dead) == 0 {
			return nil
		}
		dcmds := make([]*redis.Cmd, len(dead))
		_, err = s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, k := range dead {
				// The script checks again, so a record replaced since the
				// HMGET is kept.
				dcmds[i] = pruneScript.Eval(ctx, p, []string{k}, nowNanos)
			}
			return nil
		})
		if err != nil {
			return fail(ctx, "prune", err)
		}
		for _, cmd := range dcmds {
			if r, _ := cmd.Int(); r == 1 {
				n++
			}
		}
		return nil
	})
	if err != nil {
		return n, err
	}
	cutoff := "(" + fmt.Sprint(now.UnixMilli())
	pruneIndex := func(keys []string) error {
		_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, k := range keys {
				p.ZRemRangeByScore(ctx, k, "-inf", cutoff)
			}
			return nil
		})
		if err != nil {
			return fail(ctx, "prune", err)
		}
		return nil
	}
	if err := s.scan(ctx, "prune", globEscape(s.userKey(""))+"*", pruneIndex); err != nil {
		return n, err
	}
	return n, s.scan(ctx, "prune", globEscape(s.tokenUserKey(""))+"*", pruneIndex)
}

// globEscape escapes the characters that SCAN MATCH treats as a pattern.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '*', '?', '[', ']', '\\':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
