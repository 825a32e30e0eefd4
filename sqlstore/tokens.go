package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sesamego/sesame/store"
)

var _ store.TokenStore = (*Store)(nil)

// maxTokenField bounds selectors and hashes of remember-me tokens.
const maxTokenField = 255

// tokenQueries are the statements on the token table.
type tokenQueries struct {
	create, lookup, rotate, delete, deleteUser, prune string
}

func buildTokenQueries(d Dialect, table string, batch int) tokenQueries {
	t := d.quote(table + "_tokens")
	r := d.rebind
	var q tokenQueries
	insert := `INSERT INTO ` + t + ` (selector, user_id, hash, prev_hash, rotated, created, expires) VALUES (?, ?, ?, ?, ?, ?, ?)`
	if d == MySQL {
		q.create = insert + ` ON DUPLICATE KEY UPDATE user_id = VALUES(user_id), hash = VALUES(hash), ` +
			`prev_hash = VALUES(prev_hash), rotated = VALUES(rotated), created = VALUES(created), expires = VALUES(expires)`
	} else {
		q.create = r(insert + ` ON CONFLICT (selector) DO UPDATE SET user_id = excluded.user_id, hash = excluded.hash, ` +
			`prev_hash = excluded.prev_hash, rotated = excluded.rotated, created = excluded.created, expires = excluded.expires`)
	}
	q.lookup = r(`SELECT user_id, hash, prev_hash, rotated, created, expires FROM ` + t + ` WHERE selector = ? AND expires > ?`)
	// prev_hash comes first: MySQL assigns left to right, with the new
	// values of the columns already assigned.
	q.rotate = r(`UPDATE ` + t + ` SET prev_hash = hash, hash = ?, rotated = ? WHERE selector = ? AND hash = ? AND expires > ?`)
	q.delete = r(`DELETE FROM ` + t + ` WHERE selector = ?`)
	q.deleteUser = r(`DELETE FROM ` + t + ` WHERE user_id = ? AND expires > ?`)
	n := fmt.Sprint(batch)
	if d == MySQL {
		q.prune = `DELETE FROM ` + t + ` WHERE expires <= ? LIMIT ` + n
	} else {
		q.prune = r(`DELETE FROM ` + t + ` WHERE selector IN (SELECT selector FROM ` + t + ` WHERE expires <= ? LIMIT ` + n + `)`)
	}
	return q
}

// checkSelector refuses selectors that the token table cannot key on every
// engine. Package remember only makes short base64 ones.
func checkSelector(sel string) error {
	if sel == "" || len(sel) > maxTokenField || !utf8.ValidString(sel) || strings.IndexByte(sel, 0) >= 0 {
		return fmt.Errorf("selector of %d bytes is not 1 to %d bytes of UTF-8 without NUL", len(sel), maxTokenField)
	}
	return nil
}

// nullBytes stores an empty hash as NULL, so it loads back as nil.
func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// CreateToken stores t in the token table (Table + "_tokens"), replacing a
// token with the same selector, in one statement. The selector must be 1 to
// 255 bytes of UTF-8 without NUL, the user ID at most 255 bytes of UTF-8
// without NUL, the hashes 1 (PrevHash 0) to 255 bytes. Times are stored to
// the microsecond. See [store.TokenStore].
func (s *Store) CreateToken(ctx context.Context, t store.Token) error {
	if err := checkSelector(t.Selector); err != nil {
		return fmt.Errorf("sqlstore: create token: %w", err)
	}
	if err := checkUserID(t.UserID); err != nil {
		return fmt.Errorf("sqlstore: create token: %w", err)
	}
	if len(t.Hash) == 0 || len(t.Hash) > maxTokenField || len(t.PrevHash) > maxTokenField {
		return fmt.Errorf("sqlstore: create token: hashes of %d and %d bytes, want 1 to %d", len(t.Hash), len(t.PrevHash), maxTokenField)
	}
	d := s.dialect
	var rotated any
	if !t.Rotated.IsZero() {
		rotated = d.timeArg(t.Rotated)
	}
	_, err := s.execWrite(ctx, "create token", s.tq.create, t.Selector, t.UserID, t.Hash, nullBytes(t.PrevHash),
		rotated, d.timeArg(t.Created), d.timeArg(t.Expires))
	return err
}

// LookupToken returns the live token with that selector, in one query. A
// selector CreateToken would refuse is not found. See [store.TokenStore].
func (s *Store) LookupToken(ctx context.Context, selector string) (store.Token, bool, error) {
	if checkSelector(selector) != nil {
		return store.Token{}, false, nil
	}
	now := s.dialect.timeArg(normTime(s.now()))
	t := store.Token{Selector: selector}
	err := s.retry(ctx, true, func() error {
		return s.db.QueryRowContext(ctx, s.tq.lookup, selector, now).Scan(&t.UserID, &t.Hash, &t.PrevHash,
			timeCol{&t.Rotated}, timeCol{&t.Created}, timeCol{&t.Expires})
	})
	switch {
	case errors.Is(err, errNoRows):
		return store.Token{}, false, nil
	case err != nil:
		return store.Token{}, false, s.dbErr(ctx, "lookup token", err)
	}
	if len(t.PrevHash) == 0 {
		t.PrevHash = nil
	}
	return t, true, nil
}

// RotateToken swaps the token's hash from oldHash to newHash, keeping the
// old one as PrevHash and setting Rotated to at, in one conditional UPDATE
// (a compare-and-swap): of concurrent rotations from one hash exactly one
// wins. It reports whether it swapped. See [store.TokenStore].
func (s *Store) RotateToken(ctx context.Context, selector string, oldHash, newHash []byte, at time.Time) (bool, error) {
	if checkSelector(selector) != nil || len(oldHash) == 0 {
		return false, nil
	}
	if len(newHash) == 0 || len(newHash) > maxTokenField {
		return false, fmt.Errorf("sqlstore: rotate token: new hash of %d bytes, want 1 to %d", len(newHash), maxTokenField)
	}
	d := s.dialect
	n, err := s.execWrite(ctx, "rotate token", s.tq.rotate, newHash, d.timeArg(at), selector, oldHash, d.timeArg(normTime(s.now())))
	return n > 0, err
}

// DeleteToken removes the token with that selector; a missing one is not an
// error. See [store.TokenStore].
func (s *Store) DeleteToken(ctx context.Context, selector string) error {
	if checkSelector(selector) != nil {
		return nil
	}
	_, err := s.execWrite(ctx, "delete token", s.tq.delete, selector)
	return err
}

// DeleteUserTokens removes every live token of userID, in one statement, and
// returns how many it removed (expired ones are left to [Store.Prune]). The
// empty user ID has none. See [store.TokenStore].
func (s *Store) DeleteUserTokens(ctx context.Context, userID string) (int, error) {
	if userID == "" || checkUserID(userID) != nil {
		return 0, nil
	}
	return s.execWrite(ctx, "delete user tokens", s.tq.deleteUser, userID, s.dialect.timeArg(normTime(s.now())))
}
