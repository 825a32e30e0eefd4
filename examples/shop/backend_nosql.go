//go:build !sql

package main

import (
	"context"
	"errors"
)

// errNoSQL is openSQL's answer in a build without the sql tag.
var errNoSQL = errors.New("this build of the shop has no SQL stores: run it with go run -tags sql ./examples/shop (compiling the SQLite, PostgreSQL and MySQL drivers takes a few minutes the first time)")

// openSQL fails: the SQL stores are compiled in with -tags sql only.
func (b *backend) openSQL(context.Context, string) error { return errNoSQL }
