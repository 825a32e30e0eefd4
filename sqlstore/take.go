package sqlstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/sesamego/sesame/store"
)

// errNoField ends Take's transaction without a write.
var errNoField = errors.New("sqlstore: no such field")

// Take removes the value under field from the live record under key and
// returns it, in one transaction that locks the row, so of two racing
// callers only one gets the value. ok is false, and nothing changes, when
// the record or the field is missing. The record's times are left as they
// are. On PostgreSQL and MySQL the value taken is remembered under id (in
// the ops table, for at least [store.RetryWindow]), so a take repeated
// under the same id returns the same value and takes nothing more. See
// [store.Taker].
func (s *Store) Take(ctx context.Context, key, field, id string) ([]byte, bool, error) {
	if !store.ValidKey(key) {
		return nil, false, fmt.Errorf("sqlstore: take: %w", store.ErrMalformedKey)
	}
	value, err := s.lockedUpdate(ctx, "take", key, id, normTime(s.now()), func(rec store.Record, raw rawValues, ok bool) (write, error) {
		if !ok {
			return write{}, errNoField
		}
		values, err := s.decodeValues(raw)
		if err != nil {
			return write{}, fmt.Errorf("sqlstore: take: %w", err)
		}
		v, ok := values[field]
		if !ok {
			return write{}, errNoField
		}
		delete(values, field)
		rec.Values = values
		e, err := s.encode(rec)
		if err != nil {
			return write{}, fmt.Errorf("sqlstore: take: %w", err)
		}
		return write{query: s.q.updateData, args: []any{e.data, e.vals, e.size, key}, result: v}, nil
	})
	switch {
	case errors.Is(err, errNoField):
		return nil, false, nil
	case err != nil:
		return nil, false, err
	}
	return value, true, nil
}
