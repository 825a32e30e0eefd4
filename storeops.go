package sesame

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sesamego/sesame/store"
)

// The manager's store calls: each is timed, reported as an EventStoreOp, and
// its error classified so handlers can test it with errors.Is.

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
	default:
		return fmt.Errorf("%w: %s: %w", ErrStoreUnavailable, op, err)
	}
}

func (m *Manager) observe(ctx context.Context, op, key, path string, start time.Time, err error) {
	if m.onEvent == nil && err == nil {
		return
	}
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrExists) {
		err = nil // outcomes, not failures
	}
	m.emit(ctx, Event{Kind: EventStoreOp, Op: op, Hash: shortHash(key), Path: path, Duration: m.now().Sub(start), Err: err})
}

func (m *Manager) storeLoad(ctx context.Context, key, path string) (store.Record, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, m.storeTimeout)
	defer cancel()
	start := m.now()
	rec, ok, err := m.store.Load(ctx, key)
	m.observe(ctx, "load", key, path, start, err)
	return rec, ok, m.storeErr("load", err)
}

func (m *Manager) storeApply(ctx context.Context, key string, c store.Change, path string) error {
	start := m.now()
	err := m.store.Apply(ctx, key, c)
	m.observe(ctx, "apply", key, path, start, err)
	return m.storeErr("apply", err)
}

func (m *Manager) storeDelete(ctx context.Context, key, path string) error {
	start := m.now()
	err := m.store.Delete(ctx, key)
	m.observe(ctx, "delete", key, path, start, err)
	return m.storeErr("delete", err)
}

func (m *Manager) storeRename(ctx context.Context, rn store.Renamer, oldKey, newKey string, c store.Change, path string) error {
	start := m.now()
	err := rn.Rename(ctx, oldKey, newKey, c)
	m.observe(ctx, "rename", oldKey, path, start, err)
	return m.storeErr("rename", err)
}

func (m *Manager) storeTake(ctx context.Context, t store.Taker, key, field string) ([]byte, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, m.storeTimeout)
	defer cancel()
	start := m.now()
	v, ok, err := t.Take(ctx, key, field)
	m.observe(ctx, "take", key, "", start, err)
	return v, ok, m.storeErr("take", err)
}
