package redisstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sesamego/sesame/store"
)

// moveTTL caps how long a record marked as moving (the first step of a
// Cluster rename) stays in Redis if the renaming process dies before
// finishing.
const moveTTL = time.Minute

// Rename implements [store.Renamer].
//
// On a single-node or Sentinel client it is one script over both keys: the
// change is applied and the record renamed atomically.
//
// In a Cluster the two keys live in different slots, which no script or
// transaction can span, so Rename takes several steps:
//
//  1. A script marks the record under oldKey as moving and returns it. From
//     then on oldKey loads as missing and changes to it fail with
//     [store.ErrNotFound], exactly as after an atomic rename; every change
//     committed before is in the returned record.
//  2. The change is merged into that record in this process ([store.Merge]).
//  3. The result is created under newKey (and indexed for its user first).
//  4. The old record is deleted.
//
// When step 2 or 3 fails (ErrNotNumber, ErrTooLarge, ErrExists, Redis
// unreachable), the mark is removed and the old record is back as it was.
// When the outcome of step 3 is unknown ([store.ErrOutcomeUnknown]), the mark
// stays: the session is then under newKey or lost, never under both keys.
//
// Every step can be repeated: step 1 of a record already moving to newKey
// returns it again, step 3 carries the change ID (or one made up for the
// purpose when c.ID is empty), and step 4 writes the marker of c.ID in the
// old record's slot, so a repeated Rename after a lost reply answers nil
// instead of [store.ErrNotFound]. If
// the process dies between steps 1 and 4, the session is lost (the old
// record expires within a minute, the new one may not exist): a failure that
// logs the user out, never one that leaks the old ID. Nobody else can observe
// the steps, since nobody knows newKey before Rename returns.
func (s *Store) Rename(ctx context.Context, oldKey, newKey string, c store.Change) error {
	if !store.ValidKey(oldKey) || !store.ValidKey(newKey) {
		return fmt.Errorf("redisstore: rename: %w", store.ErrMalformedKey)
	}
	if err := store.CheckChange(&c); err != nil {
		return fmt.Errorf("redisstore: rename: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("redisstore: rename: %w", err)
	}
	c.Create = false
	if s.atomicRename {
		return s.apply(ctx, "rename", []string{s.recordKey(oldKey), s.markerKey(oldKey, markChange, c.ID), s.recordKey(newKey)}, newKey, c)
	}
	return s.moveRename(ctx, oldKey, newKey, c)
}

// moveRename is Rename in steps, for clients whose keys may live on
// different servers.
func (s *Store) moveRename(ctx context.Context, oldKey, newKey string, c store.Change) error {
	now := s.now()
	oldKeys := []string{s.recordKey(oldKey), s.markerKey(oldKey, markChange, c.ID)}
	var res any
	// Moving is idempotent (a repeat returns the record again), so it is
	// repeated after a lost reply even without a change ID.
	err := s.call(ctx, "rename", true, func(ctx context.Context) error {
		var err error
		res, err = moveScript.Run(ctx, s.client, oldKeys, formatNanos(now), newKey, moveTTL.Milliseconds(), c.ID).Result()
		return err
	})
	if err != nil {
		return s.scriptErr(ctx, "rename", err, scriptArgs{})
	}
	if res == "DONE" {
		return nil // a repeat of a rename that finished
	}
	flat, _ := res.([]any)
	fields := make(map[string]string, len(flat)/2)
	for i := 0; i+1 < len(flat); i += 2 {
		k, _ := flat[i].(string)
		v, _ := flat[i+1].(string)
		fields[k] = v
	}
	delete(fields, fieldMoving) // present when this is a repeat
	cur, ok, err := s.decode(fields, true, now)
	if err == nil && !ok {
		err = fmt.Errorf("moved record is not live")
	}
	if err != nil {
		return s.unmove(ctx, oldKey, newKey, cur, now, fmt.Errorf("redisstore: rename: %w", err))
	}
	rec, err := store.Merge(cur, true, c, now)
	if err == nil && store.Size(rec.Values) > s.maxSize {
		err = fmt.Errorf("%w: session would be %d bytes, the limit is %d", store.ErrTooLarge, store.Size(rec.Values), s.maxSize)
	}
	if err != nil {
		return s.unmove(ctx, oldKey, newKey, cur, now, fmt.Errorf("redisstore: rename: %w", err))
	}
	id := c.ID
	if id == "" {
		// The create must be repeatable: a repeat that answered ErrExists
		// would restore the old record next to the new one.
		id = store.NewChangeID()
	}
	create := store.Change{
		ID:        id,
		Create:    true,
		Set:       rec.Values,
		Expires:   rec.Expires,
		Now:       rec.LastSeen,
		Created:   rec.Created,
		SetUser:   true,
		UserID:    rec.UserID,
		IP:        rec.IP,
		UserAgent: rec.UserAgent,
	}
	if err := s.apply(ctx, "rename", []string{s.recordKey(newKey), s.markerKey(newKey, markChange, id)}, newKey, create); err != nil {
		if errors.Is(err, store.ErrOutcomeUnknown) {
			return err // the new record may exist: keep the old one hidden
		}
		return s.unmove(ctx, oldKey, newKey, cur, now, err)
	}
	// The rename is done; a failure to delete the marked record only leaves
	// it to expire within moveTTL, unseen (and a repeat of the Rename to
	// finish it).
	_ = s.call(ctx, "rename", true, func(ctx context.Context) error {
		return unmoveScript.Run(ctx, s.client, oldKeys, newKey, "", c.ID, windowMillis).Err()
	})
	return nil
}

// unmove undoes step 1 of moveRename after a later step failed with err,
// which it returns (joined with the undo's own failure, if any).
func (s *Store) unmove(ctx context.Context, oldKey, newKey string, cur store.Record, now time.Time, err error) error {
	t := moveTTL.Milliseconds() // a corrupt record: let it go as if moved
	if !cur.Expires.IsZero() {
		t = ceilMillis(cur.Expires.Sub(now))
	}
	keys := []string{s.recordKey(oldKey), s.markerKey(oldKey, markChange, "")}
	uerr := s.call(ctx, "rename", true, func(ctx context.Context) error {
		return unmoveScript.Run(ctx, s.client, keys, newKey, t, "", windowMillis).Err()
	})
	if uerr != nil {
		return fmt.Errorf("%w (and restoring the old record failed: %w)", err, fail(ctx, "rename", uerr))
	}
	return err
}
