package store

import (
	"context"
	"sync"
	"time"
)

// StartPruning starts a goroutine that calls p.Prune every interval (the
// first time one interval after the start) and passes each result to report
// (which may be nil). It returns a function that cancels a prune under way,
// waits until the goroutine has exited, and may be called more than once.
// The goroutine exits only when stop is called. StartPruning panics if
// interval is not positive. Stores build their StartPruner methods on it;
// apps can call it for any [Pruner].
func StartPruning(p Pruner, interval time.Duration, report func(n int, err error)) (stop func()) {
	if interval <= 0 {
		panic("store: StartPruning needs a positive interval")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				n, err := p.Prune(ctx)
				if ctx.Err() != nil {
					return // stopped during the prune: its error is ours
				}
				if report != nil {
					report(n, err)
				}
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(cancel)
		<-done
	}
}
