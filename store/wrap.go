package store

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

//go:generate go run ./internal/genwrap -o wrap_gen.go

// Op names a store operation as a [Wrapper] sees it: a method of [Store] or of
// an optional interface. The zero value is not an operation.
type Op int

// The operations. Their String forms are the names sesame uses in events and
// metrics ("load", "apply", ...).
const (
	OpLoad               Op = iota + 1 // Store.Load
	OpApply                            // Store.Apply
	OpDelete                           // Store.Delete
	OpPrune                            // Pruner.Prune
	OpList                             // Lister.List
	OpUserSessions                     // UserIndex.UserSessions
	OpDeleteUserSessions               // UserIndex.DeleteUserSessions
	OpRename                           // Renamer.Rename
	OpLock                             // Locker.TryLock
	OpUnlock                           // Locker.Unlock
	OpTake                             // Taker.Take
	OpCreateToken                      // TokenStore.CreateToken
	OpLookupToken                      // TokenStore.LookupToken
	OpRotateToken                      // TokenStore.RotateToken
	OpDeleteToken                      // TokenStore.DeleteToken
	OpDeleteUserTokens                 // TokenStore.DeleteUserTokens
)

var opNames = [...]string{
	OpLoad:               "load",
	OpApply:              "apply",
	OpDelete:             "delete",
	OpPrune:              "prune",
	OpList:               "list",
	OpUserSessions:       "user_sessions",
	OpDeleteUserSessions: "delete_user_sessions",
	OpRename:             "rename",
	OpLock:               "lock",
	OpUnlock:             "unlock",
	OpTake:               "take",
	OpCreateToken:        "create_token",
	OpLookupToken:        "lookup_token",
	OpRotateToken:        "rotate_token",
	OpDeleteToken:        "delete_token",
	OpDeleteUserTokens:   "delete_user_tokens",
}

// String returns the operation's lower-case name: "load", "apply", "delete",
// "prune", "list", "user_sessions", "delete_user_sessions", "rename", "lock",
// "unlock", "take", "create_token", "lookup_token", "rotate_token",
// "delete_token" or "delete_user_tokens"; "unknown" for anything else.
func (o Op) String() string {
	if o > 0 && int(o) < len(opNames) {
		return opNames[o]
	}
	return "unknown"
}

// Call describes one call to a store made through [Wrap], as its [Wrapper]
// sees it. It names the records the call is about by their keys (hashes of
// session IDs) and never carries a session ID, a value, a user ID or a
// remember-me token, so a wrapper that records calls (a tracer, a logger)
// cannot leak them.
type Call struct {
	// Op is the operation.
	Op Op

	// Key is the record's key for the calls about one record: Load, Apply,
	// Delete, Rename (the old key), TryLock, Unlock and Take. It is empty
	// for the others.
	Key string

	// NewKey is the new key of a Rename; empty for the other calls.
	NewKey string

	// Found is the yes-or-no answer of the calls that give one, set when
	// the call returns without an error: Load, Take and LookupToken found
	// what they looked for, TryLock got the lock, RotateToken swapped the
	// token. It is false for every other call.
	Found bool

	// Count is set when the call returns without an error: how many
	// records Prune and DeleteUserSessions deleted, how many tokens
	// DeleteUserTokens deleted, how many records UserSessions returned and
	// how many List passed to its callback. It is zero for every other
	// call.
	Count int
}

// A Wrapper runs code around every call to a store wrapped with [Wrap]: to
// trace, measure, log, limit or inject faults.
type Wrapper interface {
	// Around makes one call. It calls next, once, to make the call on the
	// wrapped store with the context it passes (which may carry more than
	// ctx: a span, a deadline), and returns next's error or an error of
	// its own. It must not return before next has returned. When next has
	// returned, c.Found and c.Count hold the call's answer. Changing c
	// changes nothing of the call.
	//
	// Around may also return an error without calling next: the call then
	// fails with that error and the store is not called. If Around returns
	// nil without calling next, the call fails with an error wrapping
	// ErrUnavailable (a skipped write must not look like a success); a
	// second call to next returns an error and does not reach the store.
	Around(ctx context.Context, c *Call, next func(context.Context) error) error
}

// WrapperFunc is a function that is a [Wrapper]: its Around calls it.
type WrapperFunc func(ctx context.Context, c *Call, next func(context.Context) error) error

// Around calls f.
func (f WrapperFunc) Around(ctx context.Context, c *Call, next func(context.Context) error) error {
	return f(ctx, c, next)
}

// Wrap returns a store that makes every call to inner through w.Around. It
// panics if inner or w is nil.
//
// The store Wrap returns implements exactly the optional interfaces that
// inner implements among [Pruner], [Lister], [UserIndex], [Renamer],
// [Locker], [Taker] and [TokenStore], so a type assertion on it finds what
// it would find on inner, and each of those calls goes through w. (A
// decorator that embeds a Store in a struct of its own hides them all: sesame
// then cannot lock sessions, and takes flash messages at least once instead
// of exactly once.) It always has the methods of [ClientSide], which
// report what inner's report (ClientSide is false when inner has none, and
// ForRequest wraps inner's store for the request with w); Local, which
// reports what inner's Local reports, or false (memstore's: its calls never
// wait on I/O, so sesame makes them without a deadline); and Unwrap, which
// returns inner. It does not have memstore's LoadShared, an optimisation
// rather than a capability: sesame loads through Load, which copies the
// values. Other methods of inner (a pruner, Close) are not on it: call them
// on inner.
//
// Wrap may be applied to a wrapped store; the outer wrapper runs first.
func Wrap(inner Store, w Wrapper) Store {
	if inner == nil {
		panic("store: Wrap of a nil Store")
	}
	if w == nil {
		panic("store: Wrap with a nil Wrapper")
	}
	return compose(&wrapped{inner: inner, w: w}, capabilities(inner))
}

// wrapped is the store Wrap returns, before compose adds the optional
// interfaces inner implements. The types below share its layout, one per
// optional interface, each with that interface's methods.
type wrapped struct {
	inner Store
	w     Wrapper
	_     [0]func() // not comparable: no equality function per generated type
}

type (
	pruner     wrapped
	lister     wrapped
	userIndex  wrapped
	renamer    wrapped
	locker     wrapped
	taker      wrapped
	tokenStore wrapped
)

// callState is one call in flight: what the wrapper sees, and whether the
// call was made. Each method keeps it with its results in one variable that
// next's closure shares, so a call through the wrapper costs two
// allocations (that variable and the closure).
type callState struct {
	Call
	made bool
}

// enter starts the call on the inner store, once.
func (c *callState) enter() error {
	if c.made {
		return fmt.Errorf("store: %s: the wrapper made the call twice", c.Op)
	}
	c.made = true
	c.Found, c.Count = false, 0
	return nil
}

// around runs one call through the wrapper; next starts with c.enter.
func (s *wrapped) around(ctx context.Context, c *callState, next func(context.Context) error) error {
	err := s.w.Around(ctx, &c.Call, next)
	if !c.made && err == nil {
		err = fmt.Errorf("store: %s: the wrapper returned without making the call: %w", c.Op, ErrUnavailable)
	}
	return err
}

// Unwrap returns the wrapped store.
func (s *wrapped) Unwrap() Store { return s.inner }

// Local reports what the wrapped store's Local reports, or false.
func (s *wrapped) Local() bool {
	l, ok := s.inner.(interface{ Local() bool })
	return ok && l.Local()
}

// ClientSide reports what the wrapped store's ClientSide reports, or false.
func (s *wrapped) ClientSide() bool {
	cs, ok := s.inner.(ClientSide)
	return ok && cs.ClientSide()
}

// ForRequest returns the wrapped store's store for the request (see
// [ClientSide]), wrapped by the same Wrapper, so that the request's calls go
// through it too. When the wrapped store is not client-side (ClientSide
// reports false), it returns s: there is nothing per request.
func (s *wrapped) ForRequest(w http.ResponseWriter, r *http.Request) Store {
	cs, ok := s.inner.(ClientSide)
	if !ok || !cs.ClientSide() {
		return s
	}
	return Wrap(cs.ForRequest(w, r), s.w)
}

func (s *wrapped) Load(ctx context.Context, key string) (Record, bool, error) {
	var st struct {
		callState
		rec Record
		ok  bool
	}
	st.Op, st.Key = OpLoad, key
	err := s.around(ctx, &st.callState, func(ctx context.Context) error {
		if err := st.enter(); err != nil {
			return err
		}
		var err error
		st.rec, st.ok, err = s.inner.Load(ctx, key)
		st.Found = st.ok && err == nil
		return err
	})
	return st.rec, st.ok, err
}

func (s *wrapped) Apply(ctx context.Context, key string, ch Change) error {
	// ch is kept in st: a closure would move a variable this large to the
	// heap on its own, an allocation more.
	st := struct {
		callState
		ch Change
	}{callState{Call: Call{Op: OpApply, Key: key}}, ch}
	return s.around(ctx, &st.callState, func(ctx context.Context) error {
		if err := st.enter(); err != nil {
			return err
		}
		return s.inner.Apply(ctx, key, st.ch)
	})
}

func (s *wrapped) Delete(ctx context.Context, key string) error {
	st := callState{Call: Call{Op: OpDelete, Key: key}}
	return s.around(ctx, &st, func(ctx context.Context) error {
		if err := st.enter(); err != nil {
			return err
		}
		return s.inner.Delete(ctx, key)
	})
}

func (s *pruner) Prune(ctx context.Context) (int, error) {
	st := callState{Call: Call{Op: OpPrune}}
	err := (*wrapped)(s).around(ctx, &st, func(ctx context.Context) error {
		if err := st.enter(); err != nil {
			return err
		}
		n, err := s.inner.(Pruner).Prune(ctx)
		st.Count = n
		return err
	})
	return st.Count, err
}

func (s *lister) List(ctx context.Context, fn func(Entry) error) error {
	st := callState{Call: Call{Op: OpList}}
	return (*wrapped)(s).around(ctx, &st, func(ctx context.Context) error {
		if err := st.enter(); err != nil {
			return err
		}
		n := 0
		err := s.inner.(Lister).List(ctx, func(e Entry) error {
			n++
			return fn(e)
		})
		if err == nil {
			st.Count = n
		}
		return err
	})
}

func (s *userIndex) UserSessions(ctx context.Context, userID string) ([]Entry, error) {
	var st struct {
		callState
		es []Entry
	}
	st.Op = OpUserSessions
	err := (*wrapped)(s).around(ctx, &st.callState, func(ctx context.Context) error {
		if err := st.enter(); err != nil {
			return err
		}
		var err error
		st.es, err = s.inner.(UserIndex).UserSessions(ctx, userID)
		if err == nil {
			st.Count = len(st.es)
		}
		return err
	})
	return st.es, err
}

func (s *userIndex) DeleteUserSessions(ctx context.Context, userID, except string) (int, error) {
	var st struct {
		callState
		n int
	}
	st.Op = OpDeleteUserSessions
	err := (*wrapped)(s).around(ctx, &st.callState, func(ctx context.Context) error {
		if err := st.enter(); err != nil {
			return err
		}
		var err error
		st.n, err = s.inner.(UserIndex).DeleteUserSessions(ctx, userID, except)
		if err == nil {
			st.Count = st.n
		}
		return err
	})
	return st.n, err
}

func (s *renamer) Rename(ctx context.Context, oldKey, newKey string, ch Change) error {
	st := struct {
		callState
		ch Change
	}{callState{Call: Call{Op: OpRename, Key: oldKey, NewKey: newKey}}, ch}
	return (*wrapped)(s).around(ctx, &st.callState, func(ctx context.Context) error {
		if err := st.enter(); err != nil {
			return err
		}
		return s.inner.(Renamer).Rename(ctx, oldKey, newKey, st.ch)
	})
}

func (s *locker) TryLock(ctx context.Context, key, token string, ttl time.Duration) (bool, error) {
	var st struct {
		callState
		ok bool
	}
	st.Op, st.Key = OpLock, key
	err := (*wrapped)(s).around(ctx, &st.callState, func(ctx context.Context) error {
		if err := st.enter(); err != nil {
			return err
		}
		var err error
		st.ok, err = s.inner.(Locker).TryLock(ctx, key, token, ttl)
		st.Found = st.ok && err == nil
		return err
	})
	return st.ok, err
}

func (s *locker) Unlock(ctx context.Context, key, token string) error {
	st := callState{Call: Call{Op: OpUnlock, Key: key}}
	return (*wrapped)(s).around(ctx, &st, func(ctx context.Context) error {
		if err := st.enter(); err != nil {
			return err
		}
		return s.inner.(Locker).Unlock(ctx, key, token)
	})
}

func (s *taker) Take(ctx context.Context, key, field, id string) ([]byte, bool, error) {
	var st struct {
		callState
		v  []byte
		ok bool
	}
	st.Op, st.Key = OpTake, key
	err := (*wrapped)(s).around(ctx, &st.callState, func(ctx context.Context) error {
		if err := st.enter(); err != nil {
			return err
		}
		var err error
		st.v, st.ok, err = s.inner.(Taker).Take(ctx, key, field, id)
		st.Found = st.ok && err == nil
		return err
	})
	return st.v, st.ok, err
}

func (s *tokenStore) CreateToken(ctx context.Context, t Token) error {
	st := struct {
		callState
		t Token
	}{callState{Call: Call{Op: OpCreateToken}}, t}
	return (*wrapped)(s).around(ctx, &st.callState, func(ctx context.Context) error {
		if err := st.enter(); err != nil {
			return err
		}
		return s.inner.(TokenStore).CreateToken(ctx, st.t)
	})
}

func (s *tokenStore) LookupToken(ctx context.Context, selector string) (Token, bool, error) {
	var st struct {
		callState
		t  Token
		ok bool
	}
	st.Op = OpLookupToken
	err := (*wrapped)(s).around(ctx, &st.callState, func(ctx context.Context) error {
		if err := st.enter(); err != nil {
			return err
		}
		var err error
		st.t, st.ok, err = s.inner.(TokenStore).LookupToken(ctx, selector)
		st.Found = st.ok && err == nil
		return err
	})
	return st.t, st.ok, err
}

func (s *tokenStore) RotateToken(ctx context.Context, selector string, oldHash, newHash []byte, at time.Time) (bool, error) {
	var st struct {
		callState
		ok bool
	}
	st.Op = OpRotateToken
	err := (*wrapped)(s).around(ctx, &st.callState, func(ctx context.Context) error {
		if err := st.enter(); err != nil {
			return err
		}
		var err error
		st.ok, err = s.inner.(TokenStore).RotateToken(ctx, selector, oldHash, newHash, at)
		st.Found = st.ok && err == nil
		return err
	})
	return st.ok, err
}

func (s *tokenStore) DeleteToken(ctx context.Context, selector string) error {
	st := callState{Call: Call{Op: OpDeleteToken}}
	return (*wrapped)(s).around(ctx, &st, func(ctx context.Context) error {
		if err := st.enter(); err != nil {
			return err
		}
		return s.inner.(TokenStore).DeleteToken(ctx, selector)
	})
}

func (s *tokenStore) DeleteUserTokens(ctx context.Context, userID string) (int, error) {
	var st struct {
		callState
		n int
	}
	st.Op = OpDeleteUserTokens
	err := (*wrapped)(s).around(ctx, &st.callState, func(ctx context.Context) error {
		if err := st.enter(); err != nil {
			return err
		}
		var err error
		st.n, err = s.inner.(TokenStore).DeleteUserTokens(ctx, userID)
		if err == nil {
			st.Count = st.n
		}
		return err
	})
	return st.n, err
}
