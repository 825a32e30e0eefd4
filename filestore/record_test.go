package filestore

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/sesamego/sesame/store"
)

func TestRecordRoundTrip(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)
	tests := []struct {
		name string
		rec  store.Record
	}{
		{name: "an empty record", rec: store.Record{Values: map[string][]byte{}}},
		{name: "a full record", rec: store.Record{
			Values:  map[string][]byte{"a": []byte("1"), "b": []byte(`{"x": "<y>"}`), "big": bytes.Repeat([]byte("z"), 5000)},
			Created: at, LastSeen: at.Add(time.Second), Expires: at.Add(time.Hour),
			UserID: "u", IP: "2001:db8::1", UserAgent: "ua \xff",
		}},
		{name: "times far from now", rec: store.Record{Values: map[string][]byte{},
			Created: time.Unix(-1e12, 1), LastSeen: time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC), Expires: time.Time{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := encodeRecord(tt.rec, 1024)
			if err != nil {
				t.Fatal(err)
			}
			got, err := decodeRecord(data, true, 0)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Created.Equal(tt.rec.Created) || !got.LastSeen.Equal(tt.rec.LastSeen) || !got.Expires.Equal(tt.rec.Expires) {
				t.Errorf("got times %v %v %v, want %v %v %v", got.Created, got.LastSeen, got.Expires, tt.rec.Created, tt.rec.LastSeen, tt.rec.Expires)
			}
			if tt.rec.Expires.IsZero() && !got.Expires.IsZero() {
				t.Errorf("got Expires %v, want the zero time", got.Expires)
			}
			if got.UserID != tt.rec.UserID || got.IP != tt.rec.IP || got.UserAgent != tt.rec.UserAgent {
				t.Errorf("got %q %q %q, want %q %q %q", got.UserID, got.IP, got.UserAgent, tt.rec.UserID, tt.rec.IP, tt.rec.UserAgent)
			}
			if len(got.Values) != len(tt.rec.Values) {
				t.Errorf("got %d values, want %d", len(got.Values), len(tt.rec.Values))
			}
			for k, v := range tt.rec.Values {
				if !bytes.Equal(got.Values[k], v) {
					t.Errorf("value %q: got %q, want %q", k, got.Values[k], v)
				}
			}
			meta, err := decodeRecord(data, false, 0)
			if err != nil || meta.Values != nil || meta.UserAgent != tt.rec.UserAgent {
				t.Errorf("without values: got %v, %v, want the metadata only", meta, err)
			}
		})
	}
}

func TestDecodeRecordRejectsEveryTruncationAndBitFlip(t *testing.T) {
	rec := store.Record{Values: map[string][]byte{"a": []byte(`"hello"`)}, Created: time.Now(), Expires: time.Now().Add(time.Hour), UserID: "u"}
	data, err := encodeRecord(rec, 0)
	if err != nil {
		t.Fatal(err)
	}
	for n := range len(data) {
		if _, err := decodeRecord(data[:n], true, 0); !errors.Is(err, errCorrupt) {
			t.Fatalf("truncated to %d bytes: got %v, want errCorrupt", n, err)
		}
	}
	for i := range len(data) {
		for bit := range 8 {
			mutated := bytes.Clone(data)
			mutated[i] ^= 1 << bit
			if _, err := decodeRecord(mutated, true, 0); !errors.Is(err, errCorrupt) {
				t.Fatalf("bit %d of byte %d flipped: got %v, want errCorrupt", bit, i, err)
			}
		}
	}
}

func FuzzDecodeRecord(f *testing.F) {
	rec := store.Record{Values: map[string][]byte{"a": []byte("1"), "b": bytes.Repeat([]byte("x"), 100)}, Created: time.Now(), UserID: "u"}
	data, _ := encodeRecord(rec, 16)
	f.Add(data)
	f.Add([]byte(magic))
	f.Fuzz(func(t *testing.T, data []byte) {
		rec, err := decodeRecord(data, true, 1<<16)
		if err != nil {
			return
		}
		again, err := encodeRecord(rec, 16)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := decodeRecord(again, true, 1<<16); err != nil {
			t.Fatalf("re-encoded record does not decode: %v", err)
		}
	})
}
