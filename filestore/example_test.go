package filestore_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/sesamego/sesame/filestore"
	"github.com/sesamego/sesame/store"
)

func Example() {
	dir, err := os.MkdirTemp("", "sessions")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	s, err := filestore.New(dir)
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	key := store.Key("a session ID")
	err = s.Apply(ctx, key, store.Change{
		Create:  true,
		Set:     map[string][]byte{"user": []byte(`"ada"`)},
		Expires: time.Now().Add(time.Hour),
	})
	if err != nil {
		log.Fatal(err)
	}
	// Another process sharing the directory may apply changes too: they
	// merge under a per-directory flock.
	_ = s.Apply(ctx, key, store.Change{Incr: map[string]int64{"views": 1}})

	rec, ok, err := s.Load(ctx, key)
	fmt.Println(ok, err, string(rec.Values["user"]), string(rec.Values["views"]))

	// Regenerating the session ID moves the record atomically.
	newKey := store.Key("a new session ID")
	fmt.Println(s.Rename(ctx, key, newKey, store.Change{}))
	_, ok, _ = s.Load(ctx, key)
	fmt.Println(ok)
	// Output:
	// true <nil> "ada" 1
	// <nil>
	// false
}

func ExampleStore_Prune() {
	dir, err := os.MkdirTemp("", "sessions")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	s, err := filestore.New(dir)
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	_ = s.Apply(ctx, store.Key("old"), store.Change{Create: true, Expires: time.Now().Add(-time.Minute)})
	_ = s.Apply(ctx, store.Key("new"), store.Change{Create: true, Expires: time.Now().Add(time.Hour)})

	// Run Prune periodically from a goroutine or job that the app owns.
	n, err := s.Prune(ctx)
	fmt.Println(n, err)
	// Output: 1 <nil>
}
