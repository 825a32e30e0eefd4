//go:build sql

package main

import "path/filepath"

// sqlBackendCases are TestOpenBackend's cases for the SQL stores.
var sqlBackendCases = []openBackendCase{
	{"sqlite:PATH", func(dir string) string { return "sqlite:" + filepath.Join(dir, "x.sqlite") }, "*sqlstore.Store", "sqlite ", true},
	{"a path ending in .db", func(dir string) string { return filepath.Join(dir, "other.db") }, "*sqlstore.Store", "sqlite ", true},
}
