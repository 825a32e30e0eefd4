package sesame

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sesamego/sesame/internal/flat"
	"github.com/sesamego/sesame/store"
)

// The manager's store calls: each is timed, reported as an EventStoreOp, and
// its error classified so handlers can test it with errors.Is.

// sharedLoader is implemented by stores that can return a record without
// copying its values (memstore). The values of a shared record must never be
// modified, by the store or the caller: sessions copy them before their
// first change (copy on write), and the store replaces a record's values map
// rather than changing it. It is the manager's business, not the store
// contract's: a wrapper that embeds such a store and overrides Load must
// override LoadShared too, or the manager goes around it.
type sharedLoader interface {
	// LoadShared is Load, returning values that the caller must not modify.
	LoadShared(ctx context.Context, key string) (rec store.Record, ok bool, err error)
}

// localStore is implemented by stores whose calls never wait on I/O
// (memstore): the manager calls them without a deadline for each call,
// which would cost more than the call itself.
type localStore interface {
	// Local reports whether the store's calls never block on I/O.
	Local() bool
}

func (m *Manager) storeErr(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrExists):
		return err
	case errors.Is(err, store.ErrTooLarge):
		return fmt.Errorf("%w: %w", ErrTooLarge, err)
	case errors.Is(err, store.ErrNotNumber):
		return fmt.Errorf("%w: %w", ErrNotNumber, err)
	case errors.Is(err, store.ErrNotList):
		return fmt.Errorf("%w: %w", ErrNotList, err)
	case errors.Is(err, store.ErrInvalid):
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	case errors.Is(err, store.ErrOutcomeUnknown):
		return fmt.Errorf("%w: %s: %w", ErrOutcomeUnknown, op, err)
	default:
		return fmt.Errorf("%w: %s: %w", ErrStoreUnavailable, op, err)
	}
}

func (m *Manager) observe(ctx context.Context, op, key, path string, start time.Time, err error) {
	m.observeSize(ctx, op, key, path, start, err, 0)
}

// observeSize is observe for a call that returned a record, whose size (as
// store.Size measures it) the event carries.
func (m *Manager) observeSize(ctx context.Context, op, key, path string, start time.Time, err error, size int) {
	if m.onEvent == nil && err == nil {
		return
	}
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrExists) {
		err = nil // outcomes, not failures
	}
	e := Event{Kind: EventStoreOp, Op: op, Hash: shortHash(key), Path: path, Err: err, Size: size}
	if !start.IsZero() {
		e.Duration = m.now().Sub(start)
	}
	m.emit(ctx, e)
}

// clock returns the start time of a store call, for the duration its event
// reports: zero, and no clock read, when nobody will see it (no OnEvent, and
// a local store whose calls fail only on bad input).
func (m *Manager) clock() time.Time {
	if m.onEvent == nil && m.local {
		return time.Time{}
	}
	return m.now()
}

// callContext bounds one store call by StoreTimeout, except for local
// stores (localStore), whose calls cannot hang and for which a timer would
// cost more than the call.
func (m *Manager) callContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if m.local {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, m.storeTimeout)
}

// commitContext is the context of a commit: detached from the client, so a
// client that goes away cannot cut a change set in half, and bounded by
// StoreTimeout (except for local stores).
func (m *Manager) commitContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return m.callContext(context.WithoutCancel(ctx))
}

// storeFor returns the store for a call made with ctx: for a client-side
// store (store.ClientSide), the one it returned for the request of this
// manager that ctx belongs to (found under stateKey, which names the
// manager, so nested managers each find their own), if any; else the
// manager's store.
func (m *Manager) storeFor(ctx context.Context) store.Store {
	if m.client != nil {
		if c, _ := ctx.Value(stateKey{m}).(*sessionContext); c != nil && c.store != nil {
			return c.store
		}
	}
	return m.store
}

func (m *Manager) storeLoad(ctx context.Context, key, path string) (store.Record, bool, error) {
	ctx, cancel := m.callContext(ctx)
	defer cancel()
	start := m.clock()
	var rec store.Record
	var ok bool
	var err error
	if m.shared != nil {
		rec, ok, err = m.shared.LoadShared(ctx, key)
	} else {
		rec, ok, err = m.storeFor(ctx).Load(ctx, key)
	}
	if m.onEvent != nil || err != nil {
		size := 0
		if ok && m.onEvent != nil {
			size = store.Size(rec.Values)
		}
		m.observeSize(ctx, "load", key, path, start, err, size)
	}
	return rec, ok, m.storeErr("load", err)
}

// storeLoadFlat is storeLoad for a flat store (m.flat).
func (m *Manager) storeLoadFlat(ctx context.Context, key, path string) ([]byte, bool, error) {
	ctx, cancel := m.callContext(ctx)
	defer cancel()
	start := m.clock()
	r, ok, err := m.flat.LoadFlat(ctx, key)
	if m.onEvent != nil || err != nil {
		size := 0
		if ok && m.onEvent != nil {
			size = flat.Record(r).Values().Size()
		}
		m.observeSize(ctx, "load", key, path, start, err, size)
	}
	return r, ok, m.storeErr("load", err)
}

func (m *Manager) storeApply(ctx context.Context, key string, c store.Change, path string) error {
	start := m.clock()
	err := m.storeFor(ctx).Apply(ctx, key, c)
	m.observe(ctx, "apply", key, path, start, err)
	return m.storeErr("apply", err)
}

func (m *Manager) storeDelete(ctx context.Context, key, path string) error {
	start := m.clock()
	err := m.storeFor(ctx).Delete(ctx, key)
	m.observe(ctx, "delete", key, path, start, err)
	return m.storeErr("delete", err)
}

func (m *Manager) storeTake(ctx context.Context, t store.Taker, key, field string) ([]byte, bool, error) {
	ctx, cancel := m.callContext(ctx)
	defer cancel()
	start := m.clock()
	v, ok, err := t.Take(ctx, key, field, m.changeID())
	m.observe(ctx, "take", key, "", start, err)
	return v, ok, m.storeErr("take", err)
}
