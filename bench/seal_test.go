package bench

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/gorilla/securecookie"

	"github.com/sesamego/sesame/seal"
)

// BenchmarkSeal compares a full round trip (seal, then open) of sesame's seal
// package with gorilla/securecookie, for the same []byte values under the
// same cookie name. Run with
//
//	go test -run x -bench Seal -benchmem -count 5
//
// securecookie is measured with both of its serializers (gob, its default,
// and JSON), its length limit lifted so the 2 KB value fits (its encrypted
// form is over 4096 bytes), and its default 30-day max age; sesame seals with
// a one-hour expiry.
func BenchmarkSeal(b *testing.B) {
	hashKey := bytes.Repeat([]byte{1}, 32)
	blockKey := bytes.Repeat([]byte{2}, 32)
	keys, err := seal.NewKeyring(hashKey)
	if err != nil {
		b.Fatal(err)
	}
	const name = "session"

	type roundTrip func(b *testing.B, v []byte)

	sesameSigned := func(b *testing.B, v []byte) {
		exp := time.Now().Add(time.Hour)
		for b.Loop() {
			s := keys.Sign(name, v, exp)
			if _, _, err := keys.Verify(name, s); err != nil {
				b.Fatal(err)
			}
		}
	}
	sesameEncrypted := func(b *testing.B, v []byte) {
		exp := time.Now().Add(time.Hour)
		for b.Loop() {
			s, err := keys.Encrypt(name, v, exp)
			if err != nil {
				b.Fatal(err)
			}
			if _, _, err := keys.Decrypt(name, s); err != nil {
				b.Fatal(err)
			}
		}
	}
	gorilla := func(block []byte, ser securecookie.Serializer) roundTrip {
		return func(b *testing.B, v []byte) {
			sc := securecookie.New(hashKey, block).SetSerializer(ser).MaxLength(0)
			for b.Loop() {
				s, err := sc.Encode(name, v)
				if err != nil {
					b.Fatal(err)
				}
				var got []byte
				if err := sc.Decode(name, s, &got); err != nil {
					b.Fatal(err)
				}
			}
		}
	}

	variants := []struct {
		mode string
		impl string
		run  roundTrip
	}{
		{"signed", "sesame", sesameSigned},
		{"signed", "securecookie-gob", gorilla(nil, securecookie.GobEncoder{})},
		{"signed", "securecookie-json", gorilla(nil, securecookie.JSONEncoder{})},
		{"encrypted", "sesame", sesameEncrypted},
		{"encrypted", "securecookie-gob", gorilla(blockKey, securecookie.GobEncoder{})},
		{"encrypted", "securecookie-json", gorilla(blockKey, securecookie.JSONEncoder{})},
	}
	for _, size := range []int{100, 2048} {
		v := make([]byte, size)
		for i := range v {
			v[i] = byte(i * 7)
		}
		for _, vr := range variants {
			b.Run(fmt.Sprintf("%s/%dB/%s", vr.mode, size, vr.impl), func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(size))
				vr.run(b, v)
			})
		}
	}
}
