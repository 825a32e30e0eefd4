package sqlstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/sesamego/sesame/store"
)

// listPageSize is how many rows one query of List reads.
const listPageSize = 200

// List calls fn for every live record, in key order, until fn returns an
// error (which List returns; [store.ErrStop] stops without an error). It
// reads the table in pages of 200 rows by key (keyset pagination), and
// calls fn between queries, never while a query is open, so fn may use the
// store (for example to delete what it sees) even on a database with a
// single connection. See [store.Lister].
func (s *Store) List(ctx context.Context, fn func(store.Entry) error) error {
	now := s.dialect.timeArg(normTime(s.now()))
	after := ""
	for {
		page, err := s.listPage(ctx, now, after)
		if err != nil {
			return err
		}
		for _, e := range page {
			if err := fn(e); err != nil {
				if errors.Is(err, store.ErrStop) {
					return nil
				}
				return err
			}
		}
		if len(page) < listPageSize {
			return nil
		}
		after = page[len(page)-1].Key
	}
}

func (s *Store) listPage(ctx context.Context, now any, after string) (page []store.Entry, err error) {
	err = s.retry(ctx, true, func() (err error) {
		page, err = s.readPage(ctx, now, after)
		return err
	})
	return page, err
}

func (s *Store) readPage(ctx context.Context, now any, after string) ([]store.Entry, error) {
	rows, err := s.db.QueryContext(ctx, s.q.listPage, now, after)
	if err != nil {
		return nil, s.dbErr(ctx, "list", err)
	}
	defer rows.Close()
	var page []store.Entry
	var raws []rawValues
	for rows.Next() {
		var e store.Entry
		var raw rawValues
		if err := rows.Scan(append([]any{&e.Key}, raw.dest(&e.Record)...)...); err != nil {
			return nil, s.dbErr(ctx, "list", err)
		}
		page = append(page, e)
		raws = append(raws, raw)
	}
	if err := rows.Err(); err != nil {
		return nil, s.dbErr(ctx, "list", err)
	}
	for i := range page {
		v, err := s.decodeValues(raws[i])
		if err != nil {
			return nil, fmt.Errorf("sqlstore: list: record %s: %w", page[i].Key, err)
		}
		page[i].Record.Values = v
	}
	return page, nil
}

// UserSessions returns the live records of userID without their values,
// oldest first, using the user_id index. The empty user ID (sessions
// without a user) has none. See [store.UserIndex].
func (s *Store) UserSessions(ctx context.Context, userID string) ([]store.Entry, error) {
	if userID == "" || checkUserID(userID) != nil {
		return nil, nil // no such user can have been stored
	}
	now := s.dialect.timeArg(normTime(s.now()))
	var out []store.Entry
	err := s.retry(ctx, true, func() (err error) {
		out, err = s.readUserSessions(ctx, userID, now)
		return err
	})
	return out, err
}

func (s *Store) readUserSessions(ctx context.Context, userID string, now any) ([]store.Entry, error) {
	rows, err := s.db.QueryContext(ctx, s.q.userSessions, userID, now)
	if err != nil {
		return nil, s.dbErr(ctx, "user sessions", err)
	}
	defer rows.Close()
	var out []store.Entry
	for rows.Next() {
		var e store.Entry
		r := &e.Record
		if err := rows.Scan(&e.Key, &r.UserID, &r.IP, &r.UserAgent,
			timeCol{&r.Created}, timeCol{&r.LastSeen}, timeCol{&r.Expires}); err != nil {
			return nil, s.dbErr(ctx, "user sessions", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, s.dbErr(ctx, "user sessions", err)
	}
	return out, nil
}

// DeleteUserSessions deletes every live record of userID except the one
// under the key except ("" keeps none) in one statement, and returns how
// many it deleted. The empty user ID deletes nothing: sessions without a
// user are not a user's. See [store.UserIndex].
func (s *Store) DeleteUserSessions(ctx context.Context, userID, except string) (int, error) {
	if except != "" && !store.ValidKey(except) {
		return 0, fmt.Errorf("sqlstore: delete user sessions: %w", store.ErrMalformedKey)
	}
	if userID == "" || checkUserID(userID) != nil {
		return 0, nil
	}
	now := s.dialect.timeArg(normTime(s.now()))
	return s.execWrite(ctx, "delete user sessions", s.q.deleteUser, userID, now, except)
}
