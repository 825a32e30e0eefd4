package sqlstore

import (
	"context"
	"fmt"

	"github.com/sesamego/sesame/store"
)

// Rename applies c to the live record under oldKey and moves the result to
// newKey in one transaction: it locks the old row, merges c in Go, inserts
// the new row (replacing an expired one under newKey) and deletes the old
// row. It returns an error wrapping [store.ErrNotFound] when no live record
// is under oldKey and [store.ErrExists] when a live record holds newKey
// (oldKey == newKey included); then nothing changes. c.Create is ignored.
// Like Apply, it checks c with [store.CheckChange] before any I/O, and on
// PostgreSQL and MySQL it remembers c.ID, so a rename that arrives again
// after it succeeded succeeds again and changes nothing (rather than
// finding oldKey gone).
// See [store.Renamer].
func (s *Store) Rename(ctx context.Context, oldKey, newKey string, c store.Change) error {
	if !store.ValidKey(oldKey) || !store.ValidKey(newKey) {
		return fmt.Errorf("sqlstore: rename: %w", store.ErrMalformedKey)
	}
	if err := store.CheckChange(&c); err != nil {
		return fmt.Errorf("sqlstore: rename: %w", err)
	}
	c.Create = false
	now := s.prepare(&c)
	d := s.dialect
	_, err := s.inTx(ctx, "rename", c.ID, func(q querier) ([]byte, error) {
		cur, raw, ok, err := scanRecord(q.QueryRowContext(ctx, s.q.lockRow, oldKey, d.timeArg(now)))
		if err != nil {
			return nil, s.dbErr(ctx, "rename", err)
		}
		if !ok {
			return nil, fmt.Errorf("sqlstore: rename: %w", store.ErrNotFound)
		}
		if cur.Values, err = s.decodeValues(raw); err != nil {
			return nil, fmt.Errorf("sqlstore: rename: %w", err)
		}
		rec, err := store.Merge(cur, true, c, now)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: rename: %w", err)
		}
		e, err := s.encode(rec)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: rename: %w", err)
		}
		args := []any{newKey, e.data, e.vals, e.size, rec.UserID, rec.IP, rec.UserAgent,
			d.timeArg(rec.Created), d.timeArg(rec.LastSeen), d.timeArg(rec.Expires)}
		ok, err = s.insertOrReplaceExpired(ctx, q, s.q.upsert, s.q.insert, s.q.deleteExpiredKey, args, now)
		if err != nil {
			return nil, s.dbErr(ctx, "rename", err)
		}
		if !ok {
			return nil, fmt.Errorf("sqlstore: rename: %w", store.ErrExists)
		}
		if _, err := q.ExecContext(ctx, s.q.deleteKey, oldKey); err != nil {
			return nil, s.dbErr(ctx, "rename", err)
		}
		return nil, nil
	})
	return err
}
