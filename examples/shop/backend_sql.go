//go:build sql

package main

import (
	"context"
	"fmt"
	"time"

	"github.com/sesamego/sesame/sqlstore"
	_ "github.com/sesamego/sesame/sqlstore/mysql" // the engines -store accepts
	_ "github.com/sesamego/sesame/sqlstore/postgres"
	_ "github.com/sesamego/sesame/sqlstore/sqlite"
)

// openSQL opens and migrates a database through sqlstore.Open.
func (b *backend) openSQL(ctx context.Context, target string) error {
	s, err := sqlstore.Open(ctx, target, sqlstore.Options{Table: string(b.ns)})
	if err != nil {
		return err
	}
	mctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := s.Migrate(mctx); err != nil {
		s.Close()
		return fmt.Errorf("creating the session tables: %w", err)
	}
	b.store = s
	return nil
}
