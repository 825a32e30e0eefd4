package sqliteengine

import (
	"errors"
	"testing"
)

func TestDSN(t *testing.T) {
	for uri, want := range map[string]string{
		"file:/var/lib/app/s.db":    "file:/var/lib/app/s.db?" + Pragmas,
		"file::memory:":             "file::memory:?" + Pragmas,
		"file:s.sqlite?mode=rwc":    "file:s.sqlite?mode=rwc&" + Pragmas,
		"file:/tmp/my%20s%3F%23.db": "file:/tmp/my%20s%3F%23.db?" + Pragmas,
	} {
		if got := DSN(uri); got != want {
			t.Errorf("DSN(%q) = %q, want %q", uri, got, want)
		}
	}
}

func TestErrors(t *testing.T) {
	db, err := open("file::memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_, err = db.Exec("SELECT * FROM no_such_table")
	if err == nil {
		t.Fatal("got no error from a missing table")
	}
	if maybe, ok := answer(err); conflict(err) || !ok || maybe {
		t.Errorf("%v: got conflict %v, answer %v (maybe %v), want an answer that took no effect", err, conflict(err), ok, maybe)
	}
}

func TestErrorsOfNoDriver(t *testing.T) {
	err := errors.New("other")
	if maybe, ok := answer(err); conflict(err) || ok || maybe {
		t.Errorf("got conflict %v, answer %v (maybe %v), want false for an error that is not SQLite's", conflict(err), ok, maybe)
	}
}
