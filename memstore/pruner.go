package memstore

import (
	"time"

	"github.com/sesamego/sesame/store"
)

// StartPruner starts a goroutine that calls [Store.Prune] every interval and
// returns a function that stops it. The goroutine exits only when stop is
// called; stop waits until it has exited (finishing a prune under way, which
// is bounded by the store's size), and may be called more than once.
// StartPruner panics if interval is not positive.
func (s *Store) StartPruner(interval time.Duration) (stop func()) {
	if interval <= 0 {
		panic("memstore: StartPruner needs a positive interval")
	}
	return store.StartPruning(s, interval, nil) // Prune fails only when stopped
}
