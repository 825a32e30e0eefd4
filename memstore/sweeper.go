package memstore

import (
	"context"
	"sync"
	"time"
)

// StartSweeper starts a goroutine that calls [Store.Prune] every interval and
// returns a function that stops it. The goroutine exits only when stop is
// called; stop waits until it has exited (finishing a sweep under way, which
// is bounded by the store's size), and may be called more than once.
// StartSweeper panics if interval is not positive.
func (s *Store) StartSweeper(interval time.Duration) (stop func()) {
	if interval <= 0 {
		panic("memstore: StartSweeper needs a positive interval")
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
				_, _ = s.Prune(ctx) // errors only when ctx is done
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			cancel()
			<-done
		})
	}
}
