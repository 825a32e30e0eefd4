package filestore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/sesamego/sesame/store"
)

var _ store.TokenStore = (*Store)(nil)

// TokensDir is the subdirectory of a store's directory that holds the
// remember-me tokens, one file per token named by the SHA-256 of its
// selector.
const TokensDir = "tokens"

// maxTokenFile bounds a token file: a token is a few hundred bytes.
const maxTokenFile = 64 << 10

// tokenMu serialises token writes in this process, where flock is not
// available; across processes the flock of the tokens directory does.
var tokenMu sync.Mutex

// tokenPath returns the file of a selector. The selector is opaque: hashing
// it gives a fixed-length hex name that cannot name a path elsewhere.
func (s *Store) tokenPath(selector string) string {
	sum := sha256.Sum256([]byte(selector))
	return filepath.Join(s.dir, TokensDir, hex.EncodeToString(sum[:]))
}

// withTokens runs fn holding the token lock (in this process and, with
// flock, across processes), creating the tokens directory when it is missing.
func (s *Store) withTokens(ctx context.Context, op string, fn func(d *os.File) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("filestore: %s: %w", op, err)
	}
	dir := filepath.Join(s.dir, TokensDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return unavailable(op, err)
	}
	tokenMu.Lock()
	defer tokenMu.Unlock()
	d, err := openLock(dir)
	if err != nil {
		return unavailable(op, err)
	}
	defer closeLock(d)
	for wait := 50 * time.Microsecond; ; wait = min(2*wait, 5*time.Millisecond) {
		ok, err := tryFlock(d)
		if err != nil {
			return unavailable(op, fmt.Errorf("flock: %w", err))
		}
		if ok {
			break
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return fmt.Errorf("filestore: %s: %w", op, ctx.Err())
		}
	}
	return fn(d)
}

// readToken reads the token file at path; a missing file is ok == false.
func readToken(path string) (store.Token, bool, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return store.Token{}, false, nil
	}
	if err != nil {
		return store.Token{}, false, err
	}
	defer f.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(io.LimitReader(f, maxTokenFile+1)); err != nil {
		return store.Token{}, false, err
	}
	if buf.Len() > maxTokenFile {
		return store.Token{}, false, fmt.Errorf("%s: %w: over %d bytes", path, errCorrupt, maxTokenFile)
	}
	var t store.Token
	if err := json.Unmarshal(buf.Bytes(), &t); err != nil {
		return store.Token{}, false, fmt.Errorf("%s: %w: %w", path, errCorrupt, err)
	}
	return t, true, nil
}

// writeToken atomically replaces the token's file (temp file and rename).
func (s *Store) writeToken(d *os.File, t store.Token) error {
	data, err := json.Marshal(t)
	if err != nil {
		return err
	}
	path := s.tokenPath(t.Selector)
	tmp, err := os.CreateTemp(filepath.Dir(path), tempPrefix)
	if err != nil {
		return err
	}
	_, err = tmp.Write(data)
	if err == nil && !s.noSync {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = renameFile(tmp.Name(), path)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	return s.syncDir(d)
}

// CreateToken stores t, replacing a token with the same selector, following
// [store.TokenStore].
func (s *Store) CreateToken(ctx context.Context, t store.Token) error {
	if t.Selector == "" {
		return errors.New("filestore: create token: empty selector")
	}
	return s.withTokens(ctx, "create token", func(d *os.File) error {
		if err := s.writeToken(d, t); err != nil {
			return unavailable("create token", err)
		}
		return nil
	})
}

// LookupToken returns the live token with that selector, following
// [store.TokenStore]. It takes no lock: files are replaced by rename.
func (s *Store) LookupToken(ctx context.Context, selector string) (store.Token, bool, error) {
	if err := ctx.Err(); err != nil {
		return store.Token{}, false, fmt.Errorf("filestore: lookup token: %w", err)
	}
	t, ok, err := readToken(s.tokenPath(selector))
	if err != nil {
		return store.Token{}, false, unavailable("lookup token", err)
	}
	if !ok || t.Selector != selector || !t.Expires.After(s.now()) {
		return store.Token{}, false, nil
	}
	return t, true, nil
}

// RotateToken replaces the token's hash if it is still oldHash, following
// [store.TokenStore].
func (s *Store) RotateToken(ctx context.Context, selector string, oldHash, newHash []byte, at time.Time) (bool, error) {
	swapped := false
	err := s.withTokens(ctx, "rotate token", func(d *os.File) error {
		t, ok, err := readToken(s.tokenPath(selector))
		if err != nil {
			return unavailable("rotate token", err)
		}
		if !ok || t.Selector != selector || !t.Expires.After(s.now()) || !bytes.Equal(t.Hash, oldHash) {
			return nil
		}
		t.PrevHash, t.Hash, t.Rotated = t.Hash, bytes.Clone(newHash), at
		if err := s.writeToken(d, t); err != nil {
			return unavailable("rotate token", err)
		}
		swapped = true
		return nil
	})
	return swapped, err
}

// DeleteToken removes one token; a missing one is not an error.
func (s *Store) DeleteToken(ctx context.Context, selector string) error {
	return s.withTokens(ctx, "delete token", func(d *os.File) error {
		if err := removeFile(s.tokenPath(selector)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return unavailable("delete token", err)
		}
		return s.syncDir(d)
	})
}

// DeleteUserTokens removes every token of userID and returns how many. It
// reads every token file (a demo-sized store has a handful), and removes
// expired tokens of any user on the way.
func (s *Store) DeleteUserTokens(ctx context.Context, userID string) (int, error) {
	n := 0
	err := s.withTokens(ctx, "delete user tokens", func(d *os.File) error {
		dir := filepath.Join(s.dir, TokensDir)
		entries, err := os.ReadDir(dir)
		if err != nil {
			return unavailable("delete user tokens", err)
		}
		now := s.now()
		for _, e := range entries {
			if !store.ValidKey(e.Name()) {
				continue
			}
			path := filepath.Join(dir, e.Name())
			t, ok, err := readToken(path)
			if err != nil {
				return unavailable("delete user tokens", err)
			}
			live := ok && t.Expires.After(now)
			if ok && (t.UserID == userID || !live) {
				if err := removeFile(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
					return unavailable("delete user tokens", err)
				}
				if live {
					n++
				}
			}
		}
		return s.syncDir(d)
	})
	return n, err
}
