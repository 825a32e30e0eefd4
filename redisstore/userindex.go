package redisstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sesamego/sesame/store"
)

// The user index is one sorted set per user, under prefix+"u:"+userID, whose
// members are record keys scored by a horizon (Unix ms): a time no earlier
// than the record's expiry. The record hash remembers the horizon it is
// indexed up to (field _x), and the apply script refuses to write a record of
// a user whose expiry would pass that horizon until the caller has extended
// the index entry. Hence the invariant: every live record of a user is in the
// user's index with a score at or after its expiry. Entries whose horizon has
// passed belong to dead records and are pruned.
//
// In a Cluster the index and the records live in different slots, so they
// are written by separate commands, index first. An index entry is therefore
// a hint that may be stale (the record was deleted, expired or moved to
// another user); readers check every entry against its record and skip stale
// ones.

// Horizon slack: an index entry is extended to the record's expiry plus its
// remaining lifetime, clamped to these bounds, so a record active for its
// whole idle timeout needs the index extended about once per idle timeout.
const (
	minHorizonSlack = time.Minute
	maxHorizonSlack = 7 * 24 * time.Hour

	// indexMargin keeps an index alive this long after its latest horizon,
	// against a skew between this host's clock and the Redis server's.
	indexMargin = time.Hour
)

// horizon returns the index score (Unix ms) for a record expiring at exp.
func horizon(exp, now time.Time) int64 {
	slack := min(max(exp.Sub(now), minHorizonSlack), maxHorizonSlack)
	t := exp.Add(slack)
	ms := t.UnixMilli()
	if t.Sub(time.UnixMilli(ms)) > 0 {
		ms++
	}
	return ms
}

// index records in userID's index that the record under key is covered up to
// the horizon h (Unix ms).
func (s *Store) index(ctx context.Context, userID, key string, h int64, now time.Time) error {
	return indexScript.Run(ctx, s.client, []string{s.userKey(userID)},
		key, h, now.UnixMilli(), indexMargin.Milliseconds()).Err()
}

// metaFields are the fields UserSessions reads of each record, in the order
// decodeMeta expects.
var metaFields = []string{fieldCreated, fieldLastSeen, fieldExpires, fieldUser, fieldIP, fieldUserAgent, fieldMoving}

// UserSessions implements [store.UserIndex]. It reads the user's index and
// then the metadata of every record it names in one pipeline (in a Cluster,
// one batch per node, sent concurrently), and returns the live records that
// still belong to userID, oldest first. An empty userID has no sessions.
func (s *Store) UserSessions(ctx context.Context, userID string) ([]store.Entry, error) {
	if userID == "" {
		return nil, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("redisstore: user sessions: %w", err)
	}
	now := s.now()
	members, err := s.client.ZRangeByScore(ctx, s.userKey(userID), &redis.ZRangeBy{
		Min: strconv.FormatInt(now.UnixMilli(), 10),
		Max: "+inf",
	}).Result()
	if err != nil {
		return nil, fail(ctx, "user sessions", err)
	}
	members = slices.DeleteFunc(members, func(k string) bool { return !store.ValidKey(k) })
	if len(members) == 0 {
		return nil, nil
	}
	cmds := make([]*redis.SliceCmd, len(members))
	_, err = s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range members {
			cmds[i] = p.HMGet(ctx, s.recordKey(k), metaFields...)
		}
		return nil
	})
	if err != nil {
		return nil, fail(ctx, "user sessions", err)
	}
	var entries []store.Entry
	for i, cmd := range cmds {
		rec, ok, err := s.decodeMeta(cmd.Val(), now)
		if err != nil {
			return nil, fmt.Errorf("redisstore: user sessions: record %s: %w", members[i], err)
		}
		if ok && rec.UserID == userID {
			entries = append(entries, store.Entry{Key: members[i], Record: rec})
		}
	}
	slices.SortFunc(entries, func(a, b store.Entry) int {
		return cmp.Or(a.Record.Created.Compare(b.Record.Created), cmp.Compare(a.Key, b.Key))
	})
	return entries, nil
}

// decodeMeta turns an HMGET of metaFields into a Record without values.
func (s *Store) decodeMeta(vals []any, now time.Time) (store.Record, bool, error) {
	fields := make(map[string]string, len(metaFields))
	for i, v := range vals {
		if str, ok := v.(string); ok {
			fields[metaFields[i]] = str
		}
	}
	return s.decode(fields, false, now)
}

// DeleteUserSessions implements [store.UserIndex]. Each record named by the
// user's index, except the one under except, is deleted by a script that
// first checks the record still belongs to userID, so a session that has
// since changed user survives; the deletes are pipelined. It returns the
// number of live records deleted. An empty userID deletes nothing.
//
// A login of userID that runs concurrently may survive: its index entry is
// written before its record, so if DeleteUserSessions reads the index after
// the entry but before the record names the user, the record is left alone,
// as if the login had come just after.
func (s *Store) DeleteUserSessions(ctx context.Context, userID, except string) (int, error) {
	if except != "" && !store.ValidKey(except) {
		return 0, fmt.Errorf("redisstore: delete user sessions: %w", store.ErrMalformedKey)
	}
	if userID == "" {
		return 0, nil
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("redisstore: delete user sessions: %w", err)
	}
	idx := s.userKey(userID)
	members, err := s.client.ZRange(ctx, idx, 0, -1).Result()
	if err != nil {
		return 0, fail(ctx, "delete user sessions", err)
	}
	members = slices.DeleteFunc(members, func(k string) bool { return k == except || !store.ValidKey(k) })
	if len(members) == 0 {
		return 0, nil
	}
	now := formatNanos(s.now())
	cmds := make([]*redis.Cmd, len(members))
	_, err = s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range members {
			// EVAL, not EVALSHA: a pipeline cannot fall back on NOSCRIPT.
			cmds[i] = deleteUserScript.Eval(ctx, p, []string{s.recordKey(k)}, userID, now)
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return 0, fail(ctx, "delete user sessions", err)
	}
	n := 0
	var gone []any
	for i, cmd := range cmds {
		r, _ := cmd.Int()
		if r == 1 {
			n++
		}
		// A deleted record never comes back under the same key (keys hash
		// 256-bit random IDs), so its entry can go. Other entries stay until
		// their horizon passes: a missing record or one of another user may
		// be logging in as userID right now, its entry written first.
		if r >= 0 {
			gone = append(gone, members[i])
		}
	}
	if len(gone) > 0 {
		if err := s.client.ZRem(ctx, idx, gone...).Err(); err != nil {
			return n, fail(ctx, "delete user sessions", err)
		}
	}
	return n, nil
}
