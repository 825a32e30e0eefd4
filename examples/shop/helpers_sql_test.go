//go:build sql

package main

import (
	"context"
	"time"

	"github.com/sesamego/sesame/sqlstore"
	"github.com/sesamego/sesame/store"
)

// With -tags sql, every flow test runs on SQLite too.
func init() {
	testStores = append(testStores, "sqlite")
	slowWrappers = append(slowWrappers, func(st store.Store, d, queue time.Duration) (store.Store, bool) {
		s, ok := st.(*sqlstore.Store)
		if !ok {
			return nil, false
		}
		return slowSQLStore{s, d, queue}, true
	})
}

// slowSQLStore delays Load's answer like slowMemstore.
type slowSQLStore struct {
	*sqlstore.Store
	delay, queue time.Duration
}

func (s slowSQLStore) Load(ctx context.Context, key string) (store.Record, bool, error) {
	time.Sleep(s.queue)
	rec, ok, err := s.Store.Load(ctx, key)
	time.Sleep(s.delay) // after reading: concurrent loads all see the same record
	return rec, ok, err
}
