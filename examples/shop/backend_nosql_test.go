//go:build !sql

package main

import (
	"context"
	"errors"
	"testing"
)

// sqlBackendCases are empty without -tags sql.
var sqlBackendCases []openBackendCase

func TestSQLStoresNeedTheSQLTag(t *testing.T) {
	tests := []struct {
		target string
		want   error
	}{
		{"sqlite:shop.db", errNoSQL},
		{"shop.db", errNoSQL},
		{"postgres://postgres@127.0.0.1/test", errNoSQL},
		{"mysql://root@127.0.0.1/test", errNoSQL},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			b, err := openBackend(context.Background(), tt.target, t.TempDir(), "", discard)
			if err == nil {
				b.close()
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("openBackend(%q) = %v, want %v", tt.target, err, tt.want)
			}
		})
	}
}
