package redisstore

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sesamego/sesame/store"
)

// FuzzIncrement checks the script's integer arithmetic against Go's
// store.AddInt, the reference: the same values are integers, the same sums
// overflow, and the same decimal comes back.
func FuzzIncrement(f *testing.F) {
	for _, seed := range []struct {
		v  string
		by int64
	}{
		{"0", 1}, {"-1", 1}, {"41", -100}, {"", 5}, {"007", 1}, {"+5", 1}, {"-0", 3}, {"1e3", 1},
		{"9223372036854775807", 1}, {"9223372036854775807", -1}, {"-9223372036854775808", -1},
		{"-9223372036854775808", 9223372036854775807}, {"99999999999999999999", 0}, {" 1", 1}, {"1.0", 1},
	} {
		f.Add(seed.v, seed.by)
	}
	s := newSingle(f, Options{})
	ctx := context.Background()
	key := mustCreate(f, s, store.Change{Expires: time.Now().Add(time.Hour)})
	f.Fuzz(func(t *testing.T, v string, by int64) {
		if err := s.Apply(ctx, key, store.Change{Set: map[string][]byte{"n": []byte(v)}}); err != nil {
			t.Fatal(err)
		}
		want, wantErr := store.AddInt([]byte(v), by)
		err := s.Apply(ctx, key, store.Change{Incr: map[string]int64{"n": by}})
		if (wantErr != nil) != (err != nil) {
			t.Fatalf("AddInt(%q, %d) = %d, %v; Apply: %v", v, by, want, wantErr, err)
		}
		got := string(mustLoad(t, s, key).Values["n"])
		if err != nil {
			if !errors.Is(err, store.ErrNotNumber) || got != v {
				t.Fatalf("Apply(%q + %d): err = %v, value now %q", v, by, err, got)
			}
			return
		}
		if got != strconv.FormatInt(want, 10) {
			t.Fatalf("%q + %d = %q, want %d", v, by, got, want)
		}
	})
}

// FuzzNewClient checks that no URL panics the parser or leaks its password
// into an error.
func FuzzNewClient(f *testing.F) {
	for _, seed := range []string{
		"redis://localhost:6379/0", "rediss://u:p@h:1/2?dial_timeout=1s", "unix:///tmp/r.sock?db=1",
		"redis+cluster://a:1,b:2,c:3?read_timeout=2s", "redis+sentinel://s:1,t:2/0?master_name=m",
		"redis+cluster://u:p@,", "redis://%zz", "redis+sentinel://@/?master_name=",
		"redis://u:SECRETPW@h:99999999/%zz", "redis+cluster://u:SECRETPW@h:1,h 2:3/x?%", "rediss+sentinel://u:SECRETPW@h:1/x/y",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		c, err := NewClient(raw)
		if err != nil {
			if strings.Contains(raw, ":SECRETPW@") && strings.Contains(err.Error(), "SECRETPW") {
				t.Errorf("error %q leaks the password", err)
			}
			return
		}
		c.Close()
	})
}
