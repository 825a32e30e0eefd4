package store

import (
	"context"
	"time"
)

// Token is a stored remember-me token (a "split token"): the selector finds
// it, and only the SHA-256 of the verifier is kept, so a dump of the store
// cannot log anyone in.
type Token struct {
	// Selector is the public half of the token, the lookup key. Stores treat
	// it as opaque (it is validated by package remember before any I/O).
	Selector string
	// UserID is the user the token logs in.
	UserID string
	// Hash is the SHA-256 of the current verifier.
	Hash []byte
	// PrevHash is the SHA-256 of the verifier it replaced at the last
	// rotation, accepted until Rotated plus a short grace window so that
	// concurrent requests carrying the old cookie are not mistaken for
	// theft. Nil before the first rotation.
	PrevHash []byte
	// Rotated is when the verifier was last replaced (zero: never).
	Rotated time.Time
	// Created and Expires bound the token's life.
	Created time.Time
	Expires time.Time
}

// TokenStore persists remember-me tokens. Implementations must be safe for
// concurrent use; stores never return expired tokens.
type TokenStore interface {
	// CreateToken stores t. A token with the same selector is replaced.
	CreateToken(ctx context.Context, t Token) error

	// LookupToken returns the live token with that selector; ok is false
	// when it is missing or expired.
	LookupToken(ctx context.Context, selector string) (t Token, ok bool, err error)

	// RotateToken replaces the token's Hash with newHash, keeping the old
	// Hash as PrevHash and setting Rotated to at, but only if Hash is still
	// oldHash (compare-and-swap). It reports whether it swapped; false
	// with a nil error means another request rotated it first or the
	// token is gone.
	RotateToken(ctx context.Context, selector string, oldHash, newHash []byte, at time.Time) (bool, error)

	// DeleteToken removes one token; a missing one is not an error.
	DeleteToken(ctx context.Context, selector string) error

	// DeleteUserTokens removes every token of userID and returns how many.
	DeleteUserTokens(ctx context.Context, userID string) (int, error)
}
