package sesame

import (
	"context"
	"testing"

	"github.com/sesamego/sesame/cookiestore"
	"github.com/sesamego/sesame/filestore"
	"github.com/sesamego/sesame/memstore"
	"github.com/sesamego/sesame/seal"
	"github.com/sesamego/sesame/store"
)

// TestTheManagerFindsItsStoresFastPaths: the manager finds memstore's
// LoadShared, LoadFlat and Local, and the cookie store's ForRequest and
// Local, by their method sets (the interfaces are the manager's own, not the store contract's), so
// a renamed or retyped method would silently lose them.
func TestTheManagerFindsItsStoresFastPaths(t *testing.T) {
	fs, err := filestore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	k, err := seal.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	keys, err := seal.NewKeyring(k)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := cookiestore.New(cookiestore.Options{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	csEpochs, err := cookiestore.New(cookiestore.Options{Keys: keys, Epochs: cookiestore.NewMemoryEpochs()})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name                            string
		store                           store.Store
		local, shared, flat, clientSide bool
	}{
		{"memstore", memstore.New(), true, true, true, false},
		{"filestore", fs, false, false, false, false},
		{"cookiestore", cs, true, false, false, true},
		// Epochs may live in a database: calls get a deadline.
		{"cookiestore with epochs", csEpochs, false, false, false, true},
		// A client-side store's loads go to the request's store, even when
		// the store (a decorator) has a LoadShared of its own.
		{"a client-side store with LoadShared", sharedClientSide{cs}, true, false, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := New(Config{Store: tt.store})
			if err != nil {
				t.Fatal(err)
			}
			if m.local != tt.local || (m.shared != nil) != tt.shared || (m.flat != nil) != tt.flat || (m.client != nil) != tt.clientSide {
				t.Errorf("got local %v, shared %v, flat %v, client-side %v; want %v, %v, %v, %v",
					m.local, m.shared != nil, m.flat != nil, m.client != nil, tt.local, tt.shared, tt.flat, tt.clientSide)
			}
		})
	}
}

// sharedClientSide is a client-side store with a LoadShared method, as a
// decorator that forwards every fast path may have.
type sharedClientSide struct{ *cookiestore.Store }

func (s sharedClientSide) LoadShared(ctx context.Context, key string) (store.Record, bool, error) {
	return s.Load(ctx, key)
}
