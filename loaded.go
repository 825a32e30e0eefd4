package sesame

import (
	"context"

	"github.com/sesamego/sesame/internal/flat"
	"github.com/sesamego/sesame/store"
)

// baseValues are the values of the record a session loaded, read-only:
// either a flat record's, read in place (memstore), or a map (the other
// stores). The zero baseValues holds none.
type baseValues struct {
	m map[string][]byte
	f flat.Values
}

func (b *baseValues) get(key string) ([]byte, bool) {
	if b.m != nil {
		v, ok := b.m[key]
		return v, ok
	}
	return b.f.Get(key)
}

func (b *baseValues) len() int {
	if b.m != nil {
		return len(b.m)
	}
	return b.f.Len()
}

// each calls fn for each key and value.
func (b *baseValues) each(fn func(k string, v []byte)) {
	if b.m != nil {
		for k, v := range b.m {
			fn(k, v)
		}
		return
	}
	for k, v := range b.f.All() {
		fn(string(k), v)
	}
}

// hasOtherThan reports whether b holds a key that is not in keys.
func (b *baseValues) hasOtherThan(keys map[string]struct{}) bool {
	if len(keys) == 0 {
		return b.len() > 0
	}
	if b.m != nil {
		for k := range b.m {
			if _, in := keys[k]; !in {
				return true
			}
		}
		return false
	}
	for k := range b.f.All() {
		if _, in := keys[string(k)]; !in { // no allocation: a map lookup
			return true
		}
	}
	return false
}

// flatLoaderOf returns st as a flat.Loader when it keeps flat records and
// LoadFlat is its own, not promoted from a store it embeds: a decorator that
// embeds a memstore and overrides Load must be loaded through its Load.
func flatLoaderOf(st store.Store) (fl flat.Loader) {
	l, ok := st.(flat.Loader)
	if !ok {
		return nil
	}
	defer func() {
		if recover() != nil { // a store type that cannot be compared
			fl = nil
		}
	}()
	if l.FlatLoader() != any(st) {
		return nil
	}
	return l
}

// loadRecord loads the record under key: its metadata and its values.
func (m *Manager) loadRecord(ctx context.Context, key, path string) (store.Record, baseValues, bool, error) {
	if m.flat != nil {
		r, ok, err := m.storeLoadFlat(ctx, key, path)
		if !ok {
			return store.Record{}, baseValues{}, false, err
		}
		rec, v := flat.Record(r).Meta()
		return rec, baseValues{f: v}, true, nil
	}
	rec, ok, err := m.storeLoad(ctx, key, path)
	if !ok {
		return store.Record{}, baseValues{}, false, err
	}
	base := baseValues{m: rec.Values}
	if base.m == nil {
		base.m = map[string][]byte{}
	}
	rec.Values = nil
	return rec, base, true, nil
}
