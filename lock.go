package sesame

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/sesamego/sesame/store"
)

// LockOptions configures per-session locking; see [Manager.Lock].
type LockOptions struct {
	// TTL is how long a lock lives if its holder dies without releasing
	// it. Zero means 10 seconds. It must exceed the slowest locked handler.
	TTL time.Duration

	// Wait is how long a request waits for the lock before failing with
	// ErrLockTimeout (answered 503 by the default error handler). Zero
	// means 10 seconds.
	Wait time.Duration

	// Poll is the interval between attempts. Zero means 50 milliseconds.
	Poll time.Duration
}

// Lock returns middleware that serialises the requests of one session
// (Laravel's session blocking). Use it for handlers that read several keys,
// compute and write back (a checkout total from the cart, say), where the
// change-set merge of concurrent requests is not enough. It must run inside
// [Manager.Handler]; the store must implement store.Locker (memstore,
// filestore, sqlstore and redisstore do), or Lock returns ErrNotSupported.
//
// The lock is taken before the handler runs and held until the session is
// committed, and always released, also when the handler panics. The session
// is read under the lock: if a middleware between Handler and Lock (csrf,
// remember) read it before, Lock makes it read again; if one changed it, Lock
// fails with an error, so place Lock as close to Handler as the routes allow. A request without a session ID needs no lock:
// nobody else can know its session yet.
func (m *Manager) Lock(o LockOptions) (func(http.Handler) http.Handler, error) {
	lk, ok := m.store.(store.Locker)
	if !ok {
		return nil, fmt.Errorf("%w: no locking (%T)", ErrNotSupported, m.store)
	}
	if o.TTL <= 0 {
		o.TTL = 10 * time.Second
	}
	if o.Wait <= 0 {
		o.Wait = 10 * time.Second
	}
	if o.Poll <= 0 {
		o.Poll = 50 * time.Millisecond
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var buf [3]string
			ids := m.requestIDs(r, &buf)
			if len(ids) == 0 {
				next.ServeHTTP(w, r)
				return
			}
			key := store.Key(ids[0])
			token := newID()
			if err := m.acquire(r.Context(), lk, key, token, o); err != nil {
				m.errorHandler(w, r, err)
				return
			}
			release := func() {
				ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), m.storeTimeout)
				defer cancel()
				start := m.now()
				err := lk.Unlock(ctx, key, token)
				m.observe(ctx, "unlock", key, r.URL.Path, start, err)
			}
			defer func() {
				if p := recover(); p != nil {
					release()
					panic(p)
				}
			}()
			if s := m.Session(r); s != nil {
				// Middleware between Handler and Lock (csrf, remember) may
				// have read the session before the lock: read it again.
				if err := s.reload(); err != nil {
					release()
					m.errorHandler(w, r, err)
					return
				}
			}
			next.ServeHTTP(w, r)
			// Commit while the lock is held; the session middleware reports
			// an error when it finishes.
			_ = m.Commit(w, r)
			release()
		})
	}, nil
}

func (m *Manager) acquire(ctx context.Context, lk store.Locker, key, token string, o LockOptions) error {
	deadline := time.Now().Add(o.Wait)
	for {
		start := m.now()
		ok, err := lk.TryLock(ctx, key, token, o.TTL)
		m.observe(ctx, "lock", key, "", start, err)
		if err != nil {
			return m.storeErr("lock", err)
		}
		if ok {
			return nil
		}
		if !time.Now().Before(deadline) {
			return fmt.Errorf("%w (waited %v)", ErrLockTimeout, o.Wait)
		}
		t := time.NewTimer(min(o.Poll, time.Until(deadline)+time.Millisecond))
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w: %w", ErrLockTimeout, ctx.Err())
		case <-t.C:
		}
	}
}
