package store

import (
	"errors"
	"maps"
	"testing"
	"time"
)

func TestMerge(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	created := now.Add(-time.Hour)
	live := Record{
		Values:   map[string][]byte{"a": []byte(`"x"`), "n": []byte("41"), "s": []byte(`"str"`)},
		Created:  created,
		LastSeen: created,
		Expires:  now.Add(time.Hour),
		UserID:   "u1",
		IP:       "192.0.2.1",
	}
	expired := live
	expired.Expires = now.Add(-time.Second)
	justExpired := live
	justExpired.Expires = now // "not after now" is expired

	tests := []struct {
		name    string
		cur     Record
		ok      bool
		c       Change
		want    Record
		wantErr error
	}{
		{
			name: "a create with no record stores the change",
			c: Change{Create: true, Set: map[string][]byte{"a": []byte("1")}, Incr: map[string]int64{"n": 2},
				Expires: now.Add(time.Hour), SetUser: true, UserID: "u", IP: "ip", UserAgent: "ua"},
			want: Record{Values: map[string][]byte{"a": []byte("1"), "n": []byte("2")}, Created: now, LastSeen: now,
				Expires: now.Add(time.Hour), UserID: "u", IP: "ip", UserAgent: "ua"},
		},
		{
			name:    "a create over a live record is refused",
			cur:     live,
			ok:      true,
			c:       Change{Create: true},
			wantErr: ErrExists,
		},
		{
			name: "a create over an expired record replaces it",
			cur:  expired,
			ok:   true,
			c:    Change{Create: true, Set: map[string][]byte{"b": []byte("2")}, Expires: now.Add(time.Minute)},
			want: Record{Values: map[string][]byte{"b": []byte("2")}, Created: now, LastSeen: now, Expires: now.Add(time.Minute)},
		},
		{
			name:    "an update with no record is not found",
			c:       Change{Set: map[string][]byte{"a": []byte("1")}},
			wantErr: ErrNotFound,
		},
		{
			name:    "an update of an expired record is not found",
			cur:     expired,
			ok:      true,
			c:       Change{Set: map[string][]byte{"a": []byte("1")}},
			wantErr: ErrNotFound,
		},
		{
			name:    "a record expiring exactly now is expired",
			cur:     justExpired,
			ok:      true,
			c:       Change{},
			wantErr: ErrNotFound,
		},
		{
			name: "an empty change only bumps LastSeen",
			cur:  live,
			ok:   true,
			want: with(live, func(r *Record) { r.LastSeen = now }),
		},
		{
			name: "set, delete and increment merge onto the stored values",
			cur:  live,
			ok:   true,
			c: Change{Delete: []string{"s", "missing"}, Set: map[string][]byte{"b": []byte("true")},
				Incr: map[string]int64{"n": 1, "fresh": -3}},
			want: with(live, func(r *Record) {
				r.Values = map[string][]byte{"a": []byte(`"x"`), "n": []byte("42"), "b": []byte("true"), "fresh": []byte("-3")}
				r.LastSeen = now
			}),
		},
		{
			name: "clear runs before set and increment",
			cur:  live,
			ok:   true,
			c:    Change{Clear: true, Set: map[string][]byte{"b": []byte("1")}, Incr: map[string]int64{"n": 5}},
			want: with(live, func(r *Record) {
				r.Values = map[string][]byte{"b": []byte("1"), "n": []byte("5")}
				r.LastSeen = now
			}),
		},
		{
			name: "a key in both Set and Incr is set, then incremented",
			cur:  live,
			ok:   true,
			c:    Change{Set: map[string][]byte{"n": []byte("10")}, Incr: map[string]int64{"n": 5}},
			want: with(live, func(r *Record) { r.Values["n"] = []byte("15"); r.LastSeen = now }),
		},
		{
			name: "a key in both Delete and Set is set",
			cur:  live,
			ok:   true,
			c:    Change{Delete: []string{"a"}, Set: map[string][]byte{"a": []byte("2")}},
			want: with(live, func(r *Record) { r.Values["a"] = []byte("2"); r.LastSeen = now }),
		},
		{
			name:    "incrementing a string fails the whole change",
			cur:     live,
			ok:      true,
			c:       Change{Set: map[string][]byte{"b": []byte("1")}, Incr: map[string]int64{"s": 1}},
			wantErr: ErrNotNumber,
		},
		{
			name:    "incrementing past the int64 range fails",
			cur:     with(live, func(r *Record) { r.Values["n"] = []byte("9223372036854775807") }),
			ok:      true,
			c:       Change{Incr: map[string]int64{"n": 1}},
			wantErr: ErrNotNumber,
		},
		{
			name: "a touch replaces Expires and keeps Created",
			cur:  live,
			ok:   true,
			c:    Change{Expires: now.Add(2 * time.Hour)},
			want: with(live, func(r *Record) { r.Expires = now.Add(2 * time.Hour); r.LastSeen = now }),
		},
		{
			name: "SetUser with an empty user detaches the session",
			cur:  live,
			ok:   true,
			c:    Change{SetUser: true, UserAgent: "ua2"},
			want: with(live, func(r *Record) { r.UserID, r.IP, r.UserAgent = "", "", "ua2"; r.LastSeen = now }),
		},
		{
			name: "Change.Now sets LastSeen",
			cur:  live,
			ok:   true,
			c:    Change{Now: now.Add(-time.Minute)},
			want: with(live, func(r *Record) { r.LastSeen = now.Add(-time.Minute) }),
		},
		{
			name:    "a lagging Change.Now cannot revive an expired record",
			cur:     expired,
			ok:      true,
			c:       Change{Now: now.Add(-time.Hour), Expires: now.Add(time.Hour)},
			wantErr: ErrNotFound,
		},
		{
			name:    "a Change.Now ahead of the store cannot replace a live record",
			cur:     live,
			ok:      true,
			c:       Change{Create: true, Now: now.Add(24 * time.Hour)},
			wantErr: ErrExists,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := cloneRecord(tt.cur)
			got, err := Merge(tt.cur, tt.ok, tt.c, now)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("got error %v, want %v", err, tt.wantErr)
			}
			if !recordsEqual(tt.cur, before) {
				t.Errorf("Merge modified cur: got %+v, want %+v", tt.cur, before)
			}
			if tt.wantErr != nil {
				return
			}
			if !recordsEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", show(got), show(tt.want))
			}
		})
	}
}

func TestMergeDoesNotShareTheValuesMap(t *testing.T) {
	now := time.Now()
	cur := Record{Values: map[string][]byte{"a": []byte("1")}, Expires: now.Add(time.Hour)}
	got, err := Merge(cur, true, Change{}, now)
	if err != nil {
		t.Fatal(err)
	}
	got.Values["b"] = []byte("2")
	if _, ok := cur.Values["b"]; ok {
		t.Errorf("got a values map shared with cur, want a copy")
	}
}

func TestAddInt(t *testing.T) {
	tests := []struct {
		name    string
		v       string
		by      int64
		want    int64
		wantErr bool
	}{
		{name: "an empty value counts as zero", v: "", by: 3, want: 3},
		{name: "a positive integer", v: "41", by: 1, want: 42},
		{name: "a negative increment", v: "2", by: -5, want: -3},
		{name: "zero", v: "0", by: 0, want: 0},
		{name: "minus zero is a JSON integer", v: "-0", by: 1, want: 1},
		{name: "the largest int64", v: "9223372036854775806", by: 1, want: 9223372036854775807},
		{name: "overflow upwards", v: "9223372036854775807", by: 1, wantErr: true},
		{name: "overflow downwards", v: "-9223372036854775808", by: -1, wantErr: true},
		{name: "a number outside int64", v: "99999999999999999999", by: 1, wantErr: true},
		{name: "a fraction", v: "1.5", by: 1, wantErr: true},
		{name: "an exponent", v: "1e3", by: 1, wantErr: true},
		{name: "a JSON string", v: `"1"`, by: 1, wantErr: true},
		{name: "a plus sign is not JSON", v: "+1", by: 1, wantErr: true},
		{name: "a leading zero is not JSON", v: "01", by: 1, wantErr: true},
		{name: "white space", v: " 1", by: 1, wantErr: true},
		{name: "a lone minus", v: "-", by: 1, wantErr: true},
		{name: "null", v: "null", by: 1, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := AddInt([]byte(tt.v), tt.by)
			if tt.wantErr {
				if !errors.Is(err, ErrNotNumber) {
					t.Fatalf("got %d, %v, want an error wrapping ErrNotNumber", got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %d, %v, want %d, nil", got, err, tt.want)
			}
		})
	}
}

func TestSize(t *testing.T) {
	got := Size(map[string][]byte{"ab": []byte("123"), "c": nil})
	if want := 6; got != want {
		t.Errorf("got %d, want %d", got, want)
	}
}

func TestValidKey(t *testing.T) {
	tests := []struct {
		name string
		key  string
		want bool
	}{
		{name: "a key made by Key", key: Key("some id"), want: true},
		{name: "an empty key", key: "", want: false},
		{name: "a short key", key: Key("x")[:63], want: false},
		{name: "a long key", key: Key("x") + "0", want: false},
		{name: "upper-case hex", key: "ABCDEF" + Key("x")[6:], want: false},
		{name: "a path", key: "../../etc/passwd" + Key("x")[16:], want: false},
		{name: "a NUL byte", key: "\x00" + Key("x")[1:], want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ValidKey(tt.key); got != tt.want {
				t.Errorf("ValidKey(%q): got %v, want %v", tt.key, got, tt.want)
			}
		})
	}
}

func TestChangeEmpty(t *testing.T) {
	if c := (Change{Now: time.Now()}); !c.Empty() {
		t.Errorf("a change with only Now: got Empty false, want true")
	}
	if c := (Change{Incr: map[string]int64{"n": 1}}); c.Empty() {
		t.Errorf("a change with an increment: got Empty true, want false")
	}
}

func with(r Record, f func(*Record)) Record {
	r = cloneRecord(r)
	f(&r)
	return r
}

func cloneRecord(r Record) Record {
	r.Values = maps.Clone(r.Values)
	return r
}

func recordsEqual(a, b Record) bool {
	return maps.EqualFunc(a.Values, b.Values, func(x, y []byte) bool { return string(x) == string(y) }) &&
		a.Created.Equal(b.Created) && a.LastSeen.Equal(b.LastSeen) && a.Expires.Equal(b.Expires) &&
		a.UserID == b.UserID && a.IP == b.IP && a.UserAgent == b.UserAgent
}

// show makes values printable in failure messages.
func show(r Record) map[string]any {
	vs := make(map[string]string, len(r.Values))
	for k, v := range r.Values {
		vs[k] = string(v)
	}
	return map[string]any{"values": vs, "created": r.Created, "lastSeen": r.LastSeen, "expires": r.Expires,
		"user": r.UserID, "ip": r.IP, "ua": r.UserAgent}
}
