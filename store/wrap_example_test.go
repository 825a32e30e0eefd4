package store_test

import (
	"context"
	"fmt"
	"time"

	"github.com/sesamego/sesame/memstore"
	"github.com/sesamego/sesame/store"
)

// A wrapper sees every call, with its key and answer but never a value, and
// the wrapped store keeps the optional interfaces of the one it wraps: here
// the lock sesame's Manager.Lock needs.
func ExampleWrap() {
	logCalls := store.WrapperFunc(func(ctx context.Context, c *store.Call, next func(context.Context) error) error {
		err := next(ctx) // make the call
		fmt.Printf("%s %s… found=%v err=%v\n", c.Op, c.Key[:12], c.Found, err)
		return err
	})
	st := store.Wrap(memstore.New(), logCalls)

	ctx := context.Background()
	key := store.Key("a session ID")
	_, _, _ = st.Load(ctx, key)
	_ = st.Apply(ctx, key, store.Change{Create: true, Set: map[string][]byte{"n": []byte("1")}, Expires: time.Now().Add(time.Hour)})

	lk, ok := st.(store.Locker)
	fmt.Println("can lock:", ok)
	if ok {
		_, _ = lk.TryLock(ctx, key, "token", time.Second)
		_ = lk.Unlock(ctx, key, "token")
	}
	_, isTokenStore := st.(store.TokenStore)
	fmt.Println("keeps tokens:", isTokenStore) // memstore does not
	// Output:
	// load 8599ac24b0a8… found=false err=<nil>
	// apply 8599ac24b0a8… found=false err=<nil>
	// can lock: true
	// lock 8599ac24b0a8… found=true err=<nil>
	// unlock 8599ac24b0a8… found=false err=<nil>
	// keeps tokens: false
}
