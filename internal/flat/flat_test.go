package flat

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/sesamego/sesame/store"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func sample() store.Record {
	return store.Record{
		Values:    map[string][]byte{"n": []byte("41"), "name": []byte(`"gopher"`), "empty": {}},
		Created:   t0,
		LastSeen:  t0.Add(time.Minute),
		Expires:   t0.Add(time.Hour),
		UserID:    "alice",
		IP:        "192.0.2.1",
		UserAgent: "Mozilla/5.0 " + string(bytes.Repeat([]byte("x"), 200)), // a two-byte length
	}
}

func sameRecord(t *testing.T, got, want store.Record) {
	t.Helper()
	if !got.Created.Equal(want.Created) || !got.LastSeen.Equal(want.LastSeen) || !got.Expires.Equal(want.Expires) {
		t.Errorf("got times %v %v %v, want %v %v %v", got.Created, got.LastSeen, got.Expires, want.Created, want.LastSeen, want.Expires)
	}
	if got.UserID != want.UserID || got.IP != want.IP || got.UserAgent != want.UserAgent {
		t.Errorf("got user %q %q %q, want %q %q %q", got.UserID, got.IP, got.UserAgent, want.UserID, want.IP, want.UserAgent)
	}
	if !maps.EqualFunc(got.Values, want.Values, bytes.Equal) {
		t.Errorf("got values %q, want %q", got.Values, want.Values)
	}
}

func TestEncodeRoundTrips(t *testing.T) {
	want := sample()
	r := Encode(want)
	for _, shared := range []bool{true, false} {
		sameRecord(t, r.Record(shared), want)
	}
	if _, err := Parse(r); err != nil {
		t.Errorf("Parse of an encoded record: %v", err)
	}
	v := r.Values()
	if got, ok := v.Get("name"); !ok || string(got) != `"gopher"` {
		t.Errorf("Get(name) = %q, %v", got, ok)
	}
	if got, ok := v.Get("empty"); !ok || len(got) != 0 {
		t.Errorf("Get(empty) = %q, %v, want an empty value", got, ok)
	}
	if _, ok := v.Get("missing"); ok {
		t.Error("Get(missing) found a value")
	}
	if got, want := v.Size(), store.Size(want.Values); got != want {
		t.Errorf("Size() = %d, want %d", got, want)
	}
	if got := string(r.UserID()); got != "alice" {
		t.Errorf("UserID() = %q", got)
	}
	if got := Encode(store.Record{}); len(got.Values()) != 1 || got.Values().Len() != 0 {
		t.Errorf("an empty record has values %q", got.Values())
	}
}

func TestSharedValuesCannotGrowIntoTheRecord(t *testing.T) {
	r := Encode(sample())
	before := bytes.Clone(r)
	v, _ := r.Values().Get("n")
	_ = append(v, "999"...) // must reallocate: the slice's capacity ends with it
	for _, v := range r.Record(true).Values {
		_ = append(v, 'x')
	}
	if !bytes.Equal(r, before) {
		t.Error("appending to a shared value changed the record")
	}
}

func TestCopiedValuesDoNotShareTheRecord(t *testing.T) {
	r := Encode(sample())
	rec := r.Record(false)
	rec.Values["n"][0] = 'x'
	if v, _ := r.Values().Get("n"); string(v) != "41" {
		t.Errorf("changing a copied value changed the record: %q", v)
	}
}

func TestNanos(t *testing.T) {
	tests := []struct {
		name string
		t    time.Time
		want int64
	}{
		{"the zero time is 0", time.Time{}, 0},
		{"the epoch is 1, not the zero time", time.Unix(0, 0), 1},
		{"a time in range is exact", t0, t0.UnixNano()},
		{"a far-future time is clamped to the largest", time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), math.MaxInt64},
		{"a far-past time is clamped to the smallest", time.Date(1, 1, 2, 0, 0, 0, 0, time.UTC), math.MinInt64 + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Nanos(tt.t); got != tt.want {
				t.Errorf("got %d, want %d", got, tt.want)
			}
		})
	}
}

func TestWithout(t *testing.T) {
	want := sample()
	r := Encode(want)
	got, size := Without(r, "name")
	delete(want.Values, "name")
	sameRecord(t, got.Record(true), want)
	if size != store.Size(want.Values) {
		t.Errorf("got size %d, want %d", size, store.Size(want.Values))
	}
	if _, err := Parse(got); err != nil {
		t.Error(err)
	}
}

func TestParseRefusesMalformedRecords(t *testing.T) {
	valid := Encode(store.Record{Values: map[string][]byte{"a": []byte("1")}, UserID: "u"})
	header := valid[:headerLen]
	with := func(parts ...[]byte) []byte { return bytes.Join(append([][]byte{header}, parts...), nil) }
	tests := []struct {
		name string
		b    []byte
	}{
		{"nothing", nil},
		{"a short header", valid[:headerLen-1]},
		{"a user ID longer than the record", with([]byte{9, 'u'})},
		{"a missing IP", with([]byte{1, 'u'})},
		{"no value count", with([]byte{0, 0, 0})},
		{"more values than bytes", with([]byte{0, 0, 0, 5, 1, 'a', 0})},
		{"a key longer than the record", with([]byte{0, 0, 0, 1, 7, 'a', 0})},
		{"a value longer than the record", with([]byte{0, 0, 0, 1, 1, 'a', 7, '1'})},
		{"bytes after the last value", append(bytes.Clone(valid), 0)},
		{"a key twice", with([]byte{0, 0, 0, 2, 1, 'a', 0, 1, 'a', 0})},
		{"a key twice among many", with(append([]byte{0, 0, 0, 12}, append(bytes.Repeat([]byte{1, 'b', 0}, 11), 1, 'b', 0)...))},
		{"an overlong uvarint", with([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})},
		{"a truncated record", valid[:len(valid)-1]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Parse(tt.b); err == nil {
				t.Errorf("Parse(%q) accepted it", tt.b)
			}
		})
	}
	if _, err := Parse(valid); err != nil {
		t.Errorf("Parse of the valid record: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(Encode(sample())))
	f.Add([]byte(Encode(store.Record{})))
	f.Add([]byte(Encode(store.Record{Values: map[string][]byte{"a": nil, "b": []byte("[1,2]")}})))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := Parse(b)
		if err != nil {
			return
		}
		// An accepted record reads without panicking and encodes back to
		// a record that reads the same.
		rec := r.Record(true)
		again := Encode(rec)
		if _, err := Parse(again); err != nil {
			t.Fatalf("re-encoded record refused: %v", err)
		}
		sameRecord(t, again.Record(false), rec)
		for k := range rec.Values {
			if _, ok := r.Values().Get(k); !ok {
				t.Fatalf("Get(%q) missed a listed key", k)
			}
		}
		if r.Values().Size() != store.Size(rec.Values) {
			t.Fatal("Size disagrees with the decoded values")
		}
	})
}

// TestMergeTable checks Merge's outcomes case by case; TestMergeMatchesStore
// compares it with store.Merge on random changes.
func TestMergeTable(t *testing.T) {
	now := t0.Add(2 * time.Minute)
	live := Encode(sample())
	expired := Encode(store.Record{Expires: t0, Values: map[string][]byte{"a": []byte("1")}})
	tomb := Encode(store.Record{Expires: t0.Add(time.Hour), Values: map[string][]byte{store.GoneField: []byte("true")}})
	tests := []struct {
		name    string
		cur     Record
		ok      bool
		c       store.Change
		wantErr error
		check   func(t *testing.T, rec store.Record)
	}{
		{name: "a create over a live record is refused", cur: live, ok: true, c: store.Change{Create: true}, wantErr: store.ErrExists},
		{name: "an update of a missing record is refused", c: store.Change{}, wantErr: store.ErrNotFound},
		{name: "an update of an expired record is refused", cur: expired, ok: true, c: store.Change{}, wantErr: store.ErrNotFound},
		{name: "an update of a tombstone is refused", cur: tomb, ok: true, c: store.Change{Set: map[string][]byte{"a": []byte("1")}}, wantErr: store.ErrNotFound},
		{name: "incrementing a string is refused", cur: live, ok: true, c: store.Change{Incr: map[string]int64{"name": 1}}, wantErr: store.ErrNotNumber},
		{name: "pushing onto a number is refused", cur: live, ok: true, c: store.Change{Push: map[string]store.Append{"n": {Values: [][]byte{[]byte("1")}}}}, wantErr: store.ErrNotList},
		{name: "a create over an expired record starts afresh", cur: expired, ok: true,
			c: store.Change{Create: true, Set: map[string][]byte{"b": []byte("2")}, Expires: now.Add(time.Hour), Created: t0},
			check: func(t *testing.T, rec store.Record) {
				if len(rec.Values) != 1 || !rec.Created.Equal(t0) || !rec.LastSeen.Equal(now) {
					t.Errorf("got %+v", rec)
				}
			}},
		{name: "an update keeps the metadata it does not change", cur: live, ok: true,
			c: store.Change{Incr: map[string]int64{"n": 1}, Now: now.Add(time.Second)},
			check: func(t *testing.T, rec store.Record) {
				want := sample()
				want.Values["n"] = []byte("42")
				want.LastSeen = now.Add(time.Second)
				sameRecord(t, rec, want)
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, size, err := Merge(tt.cur, tt.ok, tt.c, now)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("got error %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			rec := got.Record(true)
			if size != store.Size(rec.Values) {
				t.Errorf("got size %d, want %d", size, store.Size(rec.Values))
			}
			tt.check(t, rec)
		})
	}
}

func TestMergeMatchesStore(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	keys := []string{"a", "b", "c", "n", "list", store.GoneField}
	value := func() []byte {
		switch rng.IntN(4) {
		case 0:
			return []byte(strconv.Itoa(rng.IntN(100) - 50))
		case 1:
			return []byte(`"s"`)
		case 2:
			return []byte("[1,2]")
		}
		return []byte("9223372036854775807")
	}
	now := t0.Add(time.Hour)
	for i := range 20000 {
		var cur store.Record
		ok := rng.IntN(5) != 0
		if ok {
			cur = store.Record{Values: map[string][]byte{}, Created: t0, LastSeen: t0, Expires: now.Add(time.Duration(rng.IntN(3)-1) * time.Minute)}
			if rng.IntN(2) == 0 {
				cur.UserID, cur.IP, cur.UserAgent = "u", "ip", "ua"
			}
			for _, k := range keys {
				if rng.IntN(3) == 0 && (k != store.GoneField || rng.IntN(4) == 0) {
					cur.Values[k] = value()
				}
			}
		}
		var c store.Change
		c.Create = rng.IntN(4) == 0
		c.Clear = rng.IntN(6) == 0
		for _, k := range keys[:5] {
			switch rng.IntN(8) {
			case 0:
				c.Delete = append(c.Delete, k)
			case 1:
				if c.Set == nil {
					c.Set = map[string][]byte{}
				}
				c.Set[k] = value()
			case 2:
				if c.Incr == nil {
					c.Incr = map[string]int64{}
				}
				c.Incr[k] = int64(rng.IntN(5) - 2)
			case 3:
				if c.Push == nil {
					c.Push = map[string]store.Append{}
				}
				c.Push[k] = store.Append{Values: [][]byte{value()}, Keep: rng.IntN(3)}
			case 4:
				if c.Set == nil {
					c.Set = map[string][]byte{}
				}
				c.Set[k] = value()
				if c.Incr == nil {
					c.Incr = map[string]int64{}
				}
				c.Incr[k] = 1
			}
		}
		if rng.IntN(2) == 0 {
			c.Expires = now.Add(time.Hour)
		}
		if rng.IntN(2) == 0 {
			c.Now = now.Add(time.Second)
		}
		if rng.IntN(3) == 0 {
			c.Created = t0.Add(-time.Hour)
		}
		if rng.IntN(3) == 0 {
			c.SetUser, c.UserID = true, "v"
		}
		want, wantErr := store.Merge(cur, ok, c, now)
		var fr Record
		if ok {
			fr = Encode(cur)
		}
		got, size, err := Merge(fr, ok, c, now)
		name := fmt.Sprintf("case %d: cur %+v, change %+v", i, cur, c)
		if (err == nil) != (wantErr == nil) {
			t.Fatalf("%s: got error %v, store.Merge %v", name, err, wantErr)
		}
		if err != nil {
			for _, sentinel := range []error{store.ErrExists, store.ErrNotFound, store.ErrNotNumber, store.ErrNotList} {
				if errors.Is(err, sentinel) != errors.Is(wantErr, sentinel) {
					t.Fatalf("%s: got error %v, store.Merge %v", name, err, wantErr)
				}
			}
			continue
		}
		rec := got.Record(true)
		if size != store.Size(want.Values) {
			t.Fatalf("%s: got size %d, want %d", name, size, store.Size(want.Values))
		}
		sameRecord(t, rec, want)
		if t.Failed() {
			t.Fatal(name)
		}
	}
}

func BenchmarkMerge(b *testing.B) {
	cur := Encode(sample())
	c := store.Change{Incr: map[string]int64{"n": 1}, Expires: t0.Add(2 * time.Hour)}
	now := t0.Add(time.Minute)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Merge(cur, true, c, now); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGet(b *testing.B) {
	v := Encode(sample()).Values()
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := v.Get("name"); !ok {
			b.Fatal("missing")
		}
	}
}
