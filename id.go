package sesame

import (
	"crypto/rand"
	"encoding/base64"
)

// idBytes is the entropy of a session ID: 256 bits.
const idBytes = 32

// idLen is the length of an encoded session ID: base64url of 32 bytes, no
// padding.
var idLen = base64.RawURLEncoding.EncodedLen(idBytes)

// newID returns a fresh session ID: 32 bytes from crypto/rand, base64url.
func newID() string {
	var b [idBytes]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never returns an error (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// validID reports whether s has the exact form newID produces: 43 characters
// of the base64url alphabet whose last character carries no stray bits. It
// runs before any store I/O, so malformed or oversized IDs cost nothing.
func validID(s string) bool {
	if len(s) != idLen {
		return false
	}
	// One table lookup per character, the results ORed: a single branch.
	var bad byte
	for i := 0; i < len(s); i++ {
		bad |= notBase64URL[s[i]]
	}
	if bad != 0 {
		return false
	}
	// 43 characters carry 258 bits; the last two must be zero for the ID
	// to be canonical (so two spellings never name one session).
	return base64URLValue(s[len(s)-1])&0x3 == 0
}

func base64URLValue(c byte) byte {
	switch {
	case c >= 'A' && c <= 'Z':
		return c - 'A'
	case c >= 'a' && c <= 'z':
		return c - 'a' + 26
	case c >= '0' && c <= '9':
		return c - '0' + 52
	case c == '-':
		return 62
	default:
		return 63
	}
}

// notBase64URL is 1 for the bytes outside the base64url alphabet.
var notBase64URL = func() (t [256]byte) {
	for c := range t {
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' {
			continue
		}
		t[c] = 1
	}
	return t
}()
