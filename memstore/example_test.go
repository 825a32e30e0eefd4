package memstore_test

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/sesamego/sesame/memstore"
	"github.com/sesamego/sesame/store"
)

func Example() {
	s := memstore.New()
	stop := s.StartPruner(time.Minute)
	defer stop() // returns once the pruner's goroutine has exited

	ctx := context.Background()
	key := store.Key("a session ID")
	err := s.Apply(ctx, key, store.Change{
		Create:  true,
		Set:     map[string][]byte{"user": []byte(`"ada"`)},
		Incr:    map[string]int64{"views": 1},
		Expires: time.Now().Add(time.Hour),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	// Two requests commit their changes; neither loses the other's.
	_ = s.Apply(ctx, key, store.Change{Incr: map[string]int64{"views": 1}})
	_ = s.Apply(ctx, key, store.Change{Set: map[string][]byte{"theme": []byte(`"dark"`)}})

	rec, ok, err := s.Load(ctx, key)
	fmt.Println(ok, err, string(rec.Values["user"]), string(rec.Values["views"]), string(rec.Values["theme"]))
	// Output: true <nil> "ada" 2 "dark"
}

func ExampleNewWithOptions() {
	// A small store: at most 1,000 sessions in 8 MiB; creating more evicts
	// the least recently written (and logs a warning).
	s, err := memstore.NewWithOptions(memstore.Options{MaxSessions: 1000, MaxMemory: 8 << 20, Logger: quiet})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	for i := range 1500 {
		_ = s.Apply(ctx, store.Key(fmt.Sprint(i)), store.Change{Create: true, Expires: time.Now().Add(time.Hour)})
	}
	st := s.Stats()
	fmt.Println(st.Records <= 1000, st.Evicted >= 500)
	// Output: true true
}

// quiet discards the examples' log lines.
var quiet = slog.New(slog.DiscardHandler)

func ExampleStore_UserSessions() {
	s := memstore.New()
	ctx := context.Background()
	for _, id := range []string{"laptop", "phone"} {
		_ = s.Apply(ctx, store.Key(id), store.Change{
			Create: true, Expires: time.Now().Add(time.Hour),
			SetUser: true, UserID: "ada", UserAgent: id,
		})
	}
	// Log out every device but the laptop.
	n, err := s.DeleteUserSessions(ctx, "ada", store.Key("laptop"))
	fmt.Println(n, err)
	sessions, _ := s.UserSessions(ctx, "ada")
	fmt.Println(len(sessions), sessions[0].Record.UserAgent)
	// Output:
	// 1 <nil>
	// 1 laptop
}
