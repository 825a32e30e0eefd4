package seal

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/chacha20poly1305"
)

// MaxLen is the longest sealed value, in characters, that the opening methods
// accept; longer input is rejected with [ErrInvalid] before it is decoded.
// Sealing a message whose sealed form would be longer fails with
// [ErrTooLarge]. 64 KiB is far above the 4 KiB of a cookie.
const MaxLen = 64 << 10

var (
	// ErrInvalid is the one error that every opening method returns when a
	// value does not open: it was sealed for another purpose, it expired, its
	// key is not in the keyring, it was changed, truncated or extended, it is
	// in the other mode, or it is not a sealed value at all. Treat it as "no
	// value"; it tells nothing more, by design.
	ErrInvalid = errors.New("seal: invalid value")

	// ErrTooLarge is returned by [Keyring.Encrypt] (and is the panic value of
	// [Keyring.Sign]) when the sealed value would be longer than [MaxLen].
	ErrTooLarge = errors.New("seal: value too large")
)

// Info describes a value that opened.
type Info struct {
	// KeyID is the ID of the key that sealed the value.
	KeyID uint32
	// Expires is when the value stops opening, in UTC, or the zero time when
	// it never expires.
	Expires time.Time
	// Stale reports that the value was sealed under an older key than the
	// keyring's newest: seal it again to move it to the current key.
	Stale bool
}

// Format constants. The first byte of every value holds the format version in
// its high nibble and the mode in its low nibble.
const (
	formatSigned    = 0x11 // version 1, signed
	formatEncrypted = 0x12 // version 1, encrypted

	maxHeaderLen = 1 + 4 + binary.MaxVarintLen64
	tagLen       = sha256.Size
	nonceLen     = chacha20poly1305.NonceSizeX
	aeadTagLen   = chacha20poly1305.Overhead

	// maxExpiry is 9999-12-31T23:59:59Z: later expiries are clamped to it
	// when sealing and rejected when opening.
	maxExpiry = 253402300799
)

var b64 = base64.RawURLEncoding.Strict()

// buffers recycles the scratch space of sealing and opening.
var buffers = sync.Pool{New: func() any { return new([]byte) }}

func getBuffer(n int) *[]byte {
	p := buffers.Get().(*[]byte)
	if cap(*p) < n {
		*p = make([]byte, n)
	}
	*p = (*p)[:n]
	return p
}

func putBuffer(p *[]byte) {
	if cap(*p) <= 2*MaxLen {
		buffers.Put(p)
	}
}

// purposeLen is the length of the purpose prefix that the MAC and the AEAD
// authenticate in front of the header: uvarint(len(purpose)) || purpose.
func purposeLen(purpose string) int {
	var tmp [binary.MaxVarintLen64]byte
	return binary.PutUvarint(tmp[:], uint64(len(purpose))) + len(purpose)
}

func putPurpose(b []byte, purpose string) int {
	n := binary.PutUvarint(b, uint64(len(purpose)))
	return n + copy(b[n:], purpose)
}

// expirySeconds is the wire form of expires: 0 for none, otherwise Unix
// seconds rounded down, at least 1 and at most maxExpiry.
func expirySeconds(expires time.Time) uint64 {
	if expires.IsZero() {
		return 0
	}
	s := expires.Unix()
	switch {
	case s < 1:
		return 1 // long expired, but not "never"
	case s > maxExpiry:
		return maxExpiry
	}
	return uint64(s)
}

// signedLen is the length of the signed value of an n-byte message.
func signedLen(n int, exp uint64) int {
	var tmp [binary.MaxVarintLen64]byte
	return b64.EncodedLen(5 + binary.PutUvarint(tmp[:], exp) + n + tagLen)
}

func putHeader(b []byte, format byte, id uint32, exp uint64) int {
	b[0] = format
	binary.BigEndian.PutUint32(b[1:5], id)
	return 5 + binary.PutUvarint(b[5:], exp)
}

// parseHeader reads the header of a decoded value. It returns the header's
// length, or 0 when the header is malformed: wrong format byte, short input,
// or an expiry that is not a minimal uvarint or is out of range.
func parseHeader(raw []byte, format byte) (n int, id uint32, exp uint64) {
	if len(raw) < 6 || raw[0] != format {
		return 0, 0, 0
	}
	id = binary.BigEndian.Uint32(raw[1:5])
	exp, m := binary.Uvarint(raw[5:])
	if m <= 0 || (m > 1 && raw[5+m-1] == 0) || exp > maxExpiry {
		return 0, 0, 0
	}
	return 5 + m, id, exp
}

func live(exp uint64, now time.Time) bool {
	return exp == 0 || now.Unix() < int64(exp)
}

func expiryTime(exp uint64) time.Time {
	if exp == 0 {
		return time.Time{}
	}
	return time.Unix(int64(exp), 0).UTC()
}

// decode decodes sealed, strict unpadded base64url, into the start of b,
// using the end of b (len(sealed) bytes) as scratch space. It returns the
// decoded bytes, or nil when sealed is not canonical base64url.
func decode(b []byte, sealed string) []byte {
	// The decoder rejects every byte outside the alphabet, and non-zero
	// trailing bits (Strict), but skips newlines: refuse them here, so that
	// exactly one string encodes each value.
	if strings.IndexByte(sealed, '\n') >= 0 || strings.IndexByte(sealed, '\r') >= 0 {
		return nil
	}
	src := b[len(b)-len(sealed):]
	copy(src, sealed)
	n, err := b64.Decode(b[:len(b)-len(sealed)], src)
	if err != nil {
		return nil
	}
	return b[:n]
}

// Sign returns msg signed for purpose, valid until expires (the zero time for
// never). The message stays readable by anybody who has the value; use
// [Keyring.Encrypt] to hide it. Sign panics with an error wrapping
// [ErrTooLarge] if the result would be longer than [MaxLen], like
// [bytes.Buffer] does when it cannot grow: a value that large cannot be
// opened, and callers sealing data of unbounded size must bound it first.
func (kr *Keyring) Sign(purpose string, msg []byte, expires time.Time) string {
	k := kr.keys[0]
	exp := expirySeconds(expires)
	if signedLen(len(msg), exp) > MaxLen {
		panic(fmt.Errorf("seal: signing a %d-byte message: %w", len(msg), ErrTooLarge))
	}
	var hdr [maxHeaderLen]byte
	hn := putHeader(hdr[:], formatSigned, k.id, exp)
	rawLen := hn + len(msg) + tagLen
	encLen := b64.EncodedLen(rawLen)
	pn := purposeLen(purpose)
	buf := getBuffer(pn + rawLen + encLen)
	defer putBuffer(buf)
	b := *buf

	// b = purpose prefix || header || msg || tag || encoded
	putPurpose(b, purpose)
	copy(b[pn:], hdr[:hn])
	copy(b[pn+hn:], msg)
	macEnd := pn + hn + len(msg)
	h := k.mac()
	h.Write(b[:macEnd])
	h.Sum(b[macEnd:macEnd])
	k.putMAC(h)

	enc := b[pn+rawLen:]
	b64.Encode(enc, b[pn:pn+rawLen])
	return string(enc)
}

// Verify opens a value made by [Keyring.Sign] for purpose and returns its
// message, which the caller owns. Any failure, including expiry, is
// [ErrInvalid]. It is VerifyAt with the current time.
func (kr *Keyring) Verify(purpose, sealed string) ([]byte, Info, error) {
	return kr.VerifyAt(purpose, sealed, time.Now())
}

// VerifyAt is [Keyring.Verify] with now as the current time.
func (kr *Keyring) VerifyAt(purpose, sealed string, now time.Time) ([]byte, Info, error) {
	if len(sealed) == 0 || len(sealed) > MaxLen {
		return nil, Info{}, ErrInvalid
	}
	pn := purposeLen(purpose)
	dn := b64.DecodedLen(len(sealed))
	// b = purpose prefix || decoded value || computed tag || scratch
	buf := getBuffer(pn + dn + tagLen + len(sealed))
	defer putBuffer(buf)
	b := *buf

	raw := decode(b[pn:pn+dn+len(sealed)], sealed)
	if raw == nil {
		return nil, Info{}, ErrInvalid
	}
	hn, id, exp := parseHeader(raw, formatSigned)
	if hn == 0 || len(raw) < hn+tagLen {
		return nil, Info{}, ErrInvalid
	}
	k, stale := kr.find(id)
	if k == nil {
		return nil, Info{}, ErrInvalid
	}
	putPurpose(b, purpose)
	macEnd := pn + len(raw) - tagLen
	sum := b[pn+dn : pn+dn : pn+dn+tagLen]
	h := k.mac()
	h.Write(b[:macEnd])
	sum = h.Sum(sum)
	k.putMAC(h)
	if !hmac.Equal(sum, b[macEnd:pn+len(raw)]) || !live(exp, now) {
		return nil, Info{}, ErrInvalid
	}
	msg := make([]byte, len(raw)-hn-tagLen)
	copy(msg, raw[hn:])
	return msg, Info{KeyID: id, Expires: expiryTime(exp), Stale: stale}, nil
}

// Encrypt returns msg encrypted and authenticated for purpose, valid until
// expires (the zero time for never). Each call uses a new random nonce, so
// sealing the same message twice gives different values. It returns an error
// wrapping [ErrTooLarge] if the result would be longer than [MaxLen].
func (kr *Keyring) Encrypt(purpose string, msg []byte, expires time.Time) (string, error) {
	k := kr.keys[0]
	var hdr [maxHeaderLen]byte
	hn := putHeader(hdr[:], formatEncrypted, k.id, expirySeconds(expires))
	rawLen := hn + nonceLen + len(msg) + aeadTagLen
	encLen := b64.EncodedLen(rawLen)
	if encLen > MaxLen {
		return "", fmt.Errorf("seal: encrypting a %d-byte message: %w", len(msg), ErrTooLarge)
	}
	pn := purposeLen(purpose)
	buf := getBuffer(pn + rawLen + encLen)
	defer putBuffer(buf)
	b := *buf

	// b = purpose prefix || header || nonce || ciphertext || tag || encoded
	putPurpose(b, purpose)
	copy(b[pn:], hdr[:hn])
	ad := b[:pn+hn]
	nonce := b[pn+hn : pn+hn+nonceLen]
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("seal: reading nonce: %w", err)
	}
	ctStart := pn + hn + nonceLen
	k.aead.Seal(b[ctStart:ctStart], nonce, msg, ad) // fills b up to the encoded part

	enc := b[pn+rawLen:]
	b64.Encode(enc, b[pn:pn+rawLen])
	return string(enc), nil
}

// Decrypt opens a value made by [Keyring.Encrypt] for purpose and returns its
// message, which the caller owns. Any failure, including expiry, is
// [ErrInvalid]. It is DecryptAt with the current time.
func (kr *Keyring) Decrypt(purpose, sealed string) ([]byte, Info, error) {
	return kr.DecryptAt(purpose, sealed, time.Now())
}

// DecryptAt is [Keyring.Decrypt] with now as the current time.
func (kr *Keyring) DecryptAt(purpose, sealed string, now time.Time) ([]byte, Info, error) {
	if len(sealed) == 0 || len(sealed) > MaxLen {
		return nil, Info{}, ErrInvalid
	}
	pn := purposeLen(purpose)
	// b = purpose prefix || decoded value || scratch
	buf := getBuffer(pn + b64.DecodedLen(len(sealed)) + len(sealed))
	defer putBuffer(buf)
	b := *buf

	raw := decode(b[pn:], sealed)
	if raw == nil {
		return nil, Info{}, ErrInvalid
	}
	hn, id, exp := parseHeader(raw, formatEncrypted)
	if hn == 0 || len(raw) < hn+nonceLen+aeadTagLen {
		return nil, Info{}, ErrInvalid
	}
	k, stale := kr.find(id)
	if k == nil {
		return nil, Info{}, ErrInvalid
	}
	putPurpose(b, purpose)
	ad := b[:pn+hn]
	nonce := raw[hn : hn+nonceLen]
	ct := raw[hn+nonceLen:]
	msg, err := k.aead.Open(make([]byte, 0, len(ct)-aeadTagLen), nonce, ct, ad)
	if err != nil || !live(exp, now) {
		return nil, Info{}, ErrInvalid
	}
	return msg, Info{KeyID: id, Expires: expiryTime(exp), Stale: stale}, nil
}
