package redisstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sesamego/sesame/store"
)

// windowMillis is how long (ms) a marker remembers an applied change:
// store.RetryWindow.
var windowMillis = strconv.FormatInt(store.RetryWindow.Milliseconds(), 10)

// Kinds of marker key: an applied change set (Apply, Rename) or a take.
const (
	markChange = "c"
	markTake   = "t"
)

// hashTag returns the hash tag of a Redis key by Redis Cluster's rule: the
// text between the first "{" and the first "}" after it, when that text is
// not empty. A key with a tag hashes to the slot of its tag.
func hashTag(key string) (string, bool) {
	i := strings.IndexByte(key, '{')
	if i < 0 {
		return "", false
	}
	j := strings.IndexByte(key[i+1:], '}')
	if j <= 0 {
		return "", false
	}
	return key[i+1 : i+1+j], true
}

// markerKey returns the key that remembers, for [store.RetryWindow], that the
// change (or take) id was applied to the record under key. It lives in the
// record's hash slot, so one script can check and write both in a Cluster:
// with a prefix that has its own hash tag it starts with the prefix;
// otherwise it is the record's key as a hash tag, "{" + record key + "}:",
// followed by the kind and the id.
func (s *Store) markerKey(key, kind, id string) string {
	if s.taggedPrefix {
		return s.prefix + kind + ":" + key + ":" + id
	}
	return "{" + s.recordKey(key) + "}:" + kind + ":" + id
}

// checkPrefix reports whether markers can share the slot of their records
// under prefix: always on a single node, and in a Cluster unless the prefix
// holds a "}" outside a hash tag (which would end the marker's tag early).
func checkPrefix(prefix string, oneServer bool) error {
	if _, ok := hashTag(prefix); ok || oneServer || !strings.Contains(prefix, "}") {
		return nil
	}
	return fmt.Errorf("redisstore: prefix %q has a \"}\" outside a hash tag: change markers could not share the slots of their records", prefix)
}

// classified is an error of the Redis client that [Store.call] has already
// turned into the store's errors; fail passes it on unchanged.
type classified struct{ error }

func (e classified) Unwrap() error { return e.error }

// unsent reports whether err proves that the request never left this
// process: no connection could be made or taken from the pool, or the
// client is closed.
func unsent(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	return errors.Is(err, redis.ErrPoolTimeout) || errors.Is(err, redis.ErrClosed)
}

// refused reports whether err is a reply of a server that did not run the
// command because of its own state (a replica, loading, a cluster that is
// down or resharding, a script running): the command may succeed later.
func refused(err error) bool {
	var rerr redis.Error
	if !errors.As(err, &rerr) {
		return false
	}
	msg := rerr.Error()
	for _, p := range []string{"READONLY", "LOADING", "MASTERDOWN", "CLUSTERDOWN", "TRYAGAIN", "BUSY", "NOREPLICAS", "MOVED", "ASK"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

// Retry delays of [Store.call]: the first, and the longest.
const (
	firstRetryDelay = time.Millisecond
	maxRetryDelay   = 100 * time.Millisecond
)

// call runs send, which sends one command or script that may change
// something, and finds out what happened to it.
//
// A reply (an error reply included, such as redis.Nil or a script's error)
// is returned as it is. An error that proves the request was never sent, or
// a server refusing it, is an error wrapping store.ErrUnavailable at once:
// nothing happened. Any other error (a connection cut, a timeout) leaves the
// outcome open: the request may have been applied. When the call is
// repeatable (it carries a change identity the scripts remember, or it is
// idempotent) call sends it again, with growing pauses, until a reply comes
// or ctx ends; a repeat of an applied change is answered from its marker, as
// the original would have been. When ctx ends, or the call is not
// repeatable, the error wraps store.ErrOutcomeUnknown.
//
// Failures come back as [classified] errors.
func (s *Store) call(ctx context.Context, op string, repeatable bool, send func(ctx context.Context) error) error {
	maybeSent := false
	delay := firstRetryDelay
	for {
		err := send(ctx)
		if err == nil {
			return nil
		}
		var reply redis.Error
		if errors.As(err, &reply) && !refused(err) {
			return err
		}
		if !unsent(err) && !refused(err) {
			maybeSent = true
		}
		if !maybeSent {
			return classified{fail(ctx, op, err)}
		}
		if !repeatable || ctx.Err() != nil {
			return classified{unknown(ctx, op, err)}
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return classified{unknown(ctx, op, err)}
		case <-t.C:
		}
		delay = min(2*delay, maxRetryDelay)
	}
}

// unknown is the error of a call whose request may or may not have been
// applied: it wraps store.ErrOutcomeUnknown, the client's last error, and
// the context's error when ctx is done.
func unknown(ctx context.Context, op string, err error) error {
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("redisstore: %s: %w: %w (%w)", op, store.ErrOutcomeUnknown, err, cerr)
	}
	return fmt.Errorf("redisstore: %s: %w: %w", op, store.ErrOutcomeUnknown, err)
}
