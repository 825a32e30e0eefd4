//go:build !redis

package main

import (
	"context"
	"errors"
	"testing"
)

func TestRedisNeedsTheRedisTag(t *testing.T) {
	for _, target := range []string{"redis://127.0.0.1:6379/0", "redis+cluster://127.0.0.1:7000"} {
		b, err := openBackend(context.Background(), target, t.TempDir(), "", discard)
		if err == nil {
			b.close()
		}
		if !errors.Is(err, errNoRedis) {
			t.Errorf("openBackend(%q) = %v, want %v", target, err, errNoRedis)
		}
	}
}
