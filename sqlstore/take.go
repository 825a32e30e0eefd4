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
// are. See [store.Taker].
func (s *Store) Take(ctx context.Context, key, field string) ([]byte, bool, error) {
	if !store.ValidKey(key) {
		return nil, false, fmt.Errorf("sqlstore: take: %w", store.ErrMalformedKey)
	}
	now := s.dialect.timeArg(normTime(s.now()))
	var value []byte
	err := s.inTx(ctx, "take", func(q querier) error {
		value = nil
		rec, data, ok, err := scanRecord(q.QueryRowContext(ctx, s.q.lockRow, key, now))
		if err != nil {
			return s.dbErr(ctx, "take", err)
		}
		if !ok {
			return errNoField
		}
		if rec.Values, err = store.DecodeValues(data, s.maxSize); err != nil {
			return fmt.Errorf("sqlstore: take: %w", err)
		}
		v, ok := rec.Values[field]
		if !ok {
			return errNoField
		}
		delete(rec.Values, field)
		if data, err = store.EncodeValues(rec.Values, s.threshold); err != nil {
			return fmt.Errorf("sqlstore: take: %w", err)
		}
		if _, err := q.ExecContext(ctx, s.q.updateData, data, key); err != nil {
			return s.dbErr(ctx, "take", err)
		}
		value = v
		return nil
	})
	switch {
	case errors.Is(err, errNoField):
		return nil, false, nil
	case err != nil:
		return nil, false, err
	}
	return value, true, nil
}
