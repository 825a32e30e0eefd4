package sqlite_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/sesamego/sesame/sqlstore"
	"github.com/sesamego/sesame/sqlstore/sqlite"
	"github.com/sesamego/sesame/store"
)

// Open takes sqlite: and a path, creates the file if needed and turns WAL
// mode on; Migrate creates the tables.
func ExampleOpen() {
	dir, err := os.MkdirTemp("", "sqlite-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	ctx := context.Background()
	s, err := sqlite.Open(ctx, "sqlite:"+filepath.Join(dir, "sessions.db"), sqlstore.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		log.Fatal(err)
	}
	key := store.Key("a session ID from a cookie")
	err = s.Apply(ctx, key, store.Change{Create: true, Set: map[string][]byte{"theme": []byte(`"dark"`)}, Expires: time.Now().Add(time.Hour)})
	if err != nil {
		log.Fatal(err)
	}
	rec, _, err := s.Load(ctx, key)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(s.Dialect(), string(rec.Values["theme"]))
	// Output: sqlite "dark"
}
