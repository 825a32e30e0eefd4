package store

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

type countingPruner struct{ calls atomic.Int64 }

func (c *countingPruner) Prune(ctx context.Context) (int, error) {
	n := c.calls.Add(1)
	if n == 2 {
		return 0, errors.New("disk full")
	}
	return int(n), ctx.Err()
}

func TestStartPruning(t *testing.T) {
	p := &countingPruner{}
	results := make(chan error, 100)
	stop := StartPruning(p, time.Millisecond, func(n int, err error) { results <- err })
	var errs int
	for i := 0; i < 3; i++ {
		if err := <-results; err != nil {
			errs++
		}
	}
	stop()
	stop() // a second stop is harmless
	calls := p.calls.Load()
	time.Sleep(5 * time.Millisecond)
	if p.calls.Load() != calls {
		t.Error("pruning went on after stop returned")
	}
	if errs != 1 {
		t.Errorf("%d errors reported, want the one failed prune", errs)
	}
}

func TestStartPruningNeedsAnInterval(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("StartPruning(0) did not panic")
		}
	}()
	StartPruning(&countingPruner{}, 0, nil)
}
