package remember

import (
	"bytes"
	"context"
	"sync"
	"time"

	"github.com/sesamego/sesame/store"
)

// MemoryStore is an in-memory store.TokenStore, for tests and single-process
// apps. Tokens are lost on restart (users then log in again). It is safe for
// concurrent use.
type MemoryStore struct {
	mu     sync.Mutex
	tokens map[string]store.Token
	now    func() time.Time
}

var _ store.TokenStore = (*MemoryStore)(nil)

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{tokens: map[string]store.Token{}, now: time.Now}
}

func clone(t store.Token) store.Token {
	t.Hash = bytes.Clone(t.Hash)
	t.PrevHash = bytes.Clone(t.PrevHash)
	return t
}

// CreateToken stores t, replacing a token with the same selector.
func (s *MemoryStore) CreateToken(ctx context.Context, t store.Token) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[t.Selector] = clone(t)
	return nil
}

// LookupToken returns the live token with that selector.
func (s *MemoryStore) LookupToken(ctx context.Context, selector string) (store.Token, bool, error) {
	if err := ctx.Err(); err != nil {
		return store.Token{}, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[selector]
	if !ok || !t.Expires.After(s.now()) {
		return store.Token{}, false, nil
	}
	return clone(t), true, nil
}

// RotateToken swaps the token's hash if it is still oldHash.
func (s *MemoryStore) RotateToken(ctx context.Context, selector string, oldHash, newHash []byte, at time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[selector]
	if !ok || !bytes.Equal(t.Hash, oldHash) {
		return false, nil
	}
	t.PrevHash, t.Hash, t.Rotated = t.Hash, bytes.Clone(newHash), at
	s.tokens[selector] = t
	return true, nil
}

// DeleteToken removes one token.
func (s *MemoryStore) DeleteToken(ctx context.Context, selector string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.tokens, selector)
	return nil
}

// DeleteUserTokens removes every token of userID.
func (s *MemoryStore) DeleteUserTokens(ctx context.Context, userID string) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for sel, t := range s.tokens {
		if t.UserID == userID {
			delete(s.tokens, sel)
			n++
		}
	}
	return n, nil
}
