package store

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
)

// Key is the lower-case hex SHA-256 of the ID, as encoding/hex writes it.
func TestKeyIsTheHexSHA256(t *testing.T) {
	ids := []string{"", "a", "Xq3bA5tYw0-_zK9vLmN2pQ8rS4uV6xW1yZ7aB3cD5eF", strings.Repeat("x", 64), strings.Repeat("y", 65)}
	for i := range 1000 {
		ids = append(ids, strings.Repeat("z", i%70)+string(rune('a'+i%26)))
	}
	for _, id := range ids {
		sum := sha256.Sum256([]byte(id))
		if got, want := Key(id), hex.EncodeToString(sum[:]); got != want {
			t.Fatalf("Key(%q) = %s, want %s", id, got, want)
		}
	}
}

func TestHexEncodeEveryByte(t *testing.T) {
	var src [sha256.Size]byte
	for b := 0; b < 256; b += len(src) {
		for i := range src {
			src[i] = byte(b + i)
		}
		var dst [2 * sha256.Size]byte
		hexEncode(&dst, &src)
		if got, want := string(dst[:]), hex.EncodeToString(src[:]); got != want {
			t.Fatalf("got %s, want %s", got, want)
		}
	}
}

func BenchmarkKey(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = Key("Xq3bA5tYw0-_zK9vLmN2pQ8rS4uV6xW1yZ7aB3cD5eF")
	}
}
