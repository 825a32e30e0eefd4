package store_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/sesamego/sesame/memstore"
	"github.com/sesamego/sesame/store"
)

// A store applies change sets, not blobs: two changes made from the same
// loaded record both take effect, and increments add up.
func ExampleStore() {
	var st store.Store = memstore.New()
	ctx := context.Background()
	key := store.Key("a session ID from a cookie") // stores see only the hash

	err := st.Apply(ctx, key, store.Change{Create: true, Expires: time.Now().Add(time.Hour),
		Set: map[string][]byte{"cart": []byte(`["bagel"]`), "views": []byte("1")}})
	if err != nil {
		log.Fatal(err)
	}
	// Two requests that started from the same record:
	st.Apply(ctx, key, store.Change{ID: store.NewChangeID(), Incr: map[string]int64{"views": 1}})
	st.Apply(ctx, key, store.Change{ID: store.NewChangeID(), Incr: map[string]int64{"views": 1},
		Push: map[string]store.Append{"cart": {Values: [][]byte{[]byte(`"mug"`)}}}})

	rec, ok, err := st.Load(ctx, key)
	if err != nil || !ok {
		log.Fatal(ok, err)
	}
	fmt.Println(string(rec.Values["views"]), string(rec.Values["cart"]))

	// An update of a record that is gone is dropped, never re-creates it.
	st.Delete(ctx, key)
	err = st.Apply(ctx, key, store.Change{Set: map[string][]byte{"late": []byte("1")}})
	fmt.Println(errors.Is(err, store.ErrNotFound))
	// Output:
	// 3 ["bagel","mug"]
	// true
}

// AppendJSON is the rule every store follows for Change.Push.
func ExampleAppendJSON() {
	log, _ := store.AppendJSON([]byte(`["a","b","c"]`), [][]byte{[]byte(`"d"`)}, 3)
	fmt.Println(string(log))
	_, err := store.AppendJSON([]byte(`{"not":"a list"}`), [][]byte{[]byte(`1`)}, 0)
	fmt.Println(errors.Is(err, store.ErrNotList))
	// Output:
	// ["b","c","d"]
	// true
}

// CheckChange holds every store to the same limits on keys and user IDs.
func ExampleCheckChange() {
	err := store.CheckChange(&store.Change{SetUser: true, UserID: "alice\x00"})
	fmt.Println(errors.Is(err, store.ErrInvalid))
	// Output: true
}
