package store

import (
	"context"
	"testing"
)

// plainStore implements Store and nothing else.
type plainStore struct{}

func (plainStore) Load(context.Context, string) (Record, bool, error) { return Record{}, false, nil }
func (plainStore) Apply(context.Context, string, Change) error        { return nil }
func (plainStore) Delete(context.Context, string) error               { return nil }

// Every combination of optional interfaces gets a type with exactly those.
func TestComposeKeepsExactlyTheCapabilities(t *testing.T) {
	s := &wrapped{inner: plainStore{}, w: WrapperFunc(func(ctx context.Context, _ *Call, next func(context.Context) error) error {
		return next(ctx)
	})}
	all := capAll
	for c := uint(0); c <= all; c++ {
		got := compose(s, c)
		if caps := capabilities(got); caps != c {
			t.Errorf("compose(%07b) implements %07b", c, caps)
		}
		if _, ok := got.(interface {
			LoadShared(context.Context, string) (Record, bool, error)
		}); ok {
			t.Errorf("compose(%07b) has LoadShared", c)
		}
		if _, ok := got.(interface{ Unwrap() Store }); !ok {
			t.Errorf("compose(%07b) has no Unwrap", c)
		}
		if _, ok := got.(interface{ Local() bool }); !ok {
			t.Errorf("compose(%07b) has no Local", c)
		}
		if _, ok := got.(ClientSide); !ok {
			t.Errorf("compose(%07b) has no ClientSide", c)
		}
	}
}
