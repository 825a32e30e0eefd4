package seal

import (
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"strings"
	"sync"

	"golang.org/x/crypto/chacha20poly1305"
)

// MinSecretLen is the shortest secret, in bytes, that [NewKeyring] accepts.
const MinSecretLen = 32

// HKDF parameters. The info strings separate the uses of one secret; changing
// any of them invalidates every value sealed so far.
const (
	hkdfSalt       = "sesame/seal"
	infoKeyID      = "sesame/seal/v1 key id"
	infoSigning    = "sesame/seal/v1 hmac-sha256"
	infoEncryption = "sesame/seal/v1 xchacha20-poly1305"
)

// A Keyring seals and opens values with keys derived from a list of secrets.
// The first secret seals; all of them open. A Keyring is safe for concurrent
// use by many goroutines. It does not keep the secrets it was built from.
type Keyring struct {
	keys []*key // newest first
}

// key is what one secret derives: its ID, an HMAC pool and an AEAD.
type key struct {
	id   uint32
	macs sync.Pool // of hash.Hash, HMAC-SHA256 under the signing key
	aead cipher.AEAD
}

func (k *key) mac() hash.Hash { return k.macs.Get().(hash.Hash) }

func (k *key) putMAC(h hash.Hash) {
	h.Reset()
	k.macs.Put(h)
}

// NewKeyring returns a Keyring for secrets, newest first. It returns an error
// when no secret is given, when a secret is shorter than [MinSecretLen] bytes,
// or when two secrets derive the same key ID (in practice: the same secret was
// given twice). Use [GenerateKey] or [GenerateSecret] to make secrets.
func NewKeyring(secrets ...[]byte) (*Keyring, error) {
	if len(secrets) == 0 {
		return nil, errors.New("seal: no secret given")
	}
	kr := &Keyring{keys: make([]*key, 0, len(secrets))}
	for i, s := range secrets {
		if len(s) < MinSecretLen {
			return nil, fmt.Errorf("seal: secret %d of %d is %d bytes, want at least %d", i+1, len(secrets), len(s), MinSecretLen)
		}
		k, err := deriveKey(s)
		if err != nil {
			return nil, fmt.Errorf("seal: secret %d of %d: %w", i+1, len(secrets), err)
		}
		for j, other := range kr.keys {
			if other.id == k.id {
				return nil, fmt.Errorf("seal: secrets %d and %d derive the same key ID %08x (is a secret listed twice?)", j+1, i+1, k.id)
			}
		}
		kr.keys = append(kr.keys, k)
	}
	return kr, nil
}

func deriveKey(secret []byte) (*key, error) {
	id, err := hkdf.Key(sha256.New, secret, []byte(hkdfSalt), infoKeyID, 4)
	if err != nil {
		return nil, err
	}
	macKey, err := hkdf.Key(sha256.New, secret, []byte(hkdfSalt), infoSigning, sha256.Size)
	if err != nil {
		return nil, err
	}
	encKey, err := hkdf.Key(sha256.New, secret, []byte(hkdfSalt), infoEncryption, chacha20poly1305.KeySize)
	if err != nil {
		return nil, err
	}
	aead, err := chacha20poly1305.NewX(encKey)
	if err != nil {
		return nil, err
	}
	k := &key{id: binary.BigEndian.Uint32(id), aead: aead}
	k.macs.New = func() any { return hmac.New(sha256.New, macKey) }
	return k, nil
}

// find returns the key with the given ID and whether it is not the newest.
func (kr *Keyring) find(id uint32) (k *key, stale bool) {
	for i, k := range kr.keys {
		if k.id == id {
			return k, i > 0
		}
	}
	return nil, false
}

// String describes the keyring without revealing anything secret: the number
// of keys and the ID of the newest. It is safe to log.
func (kr *Keyring) String() string {
	return fmt.Sprintf("seal.Keyring{keys: %d, current: %08x}", len(kr.keys), kr.keys[0].id)
}

// GoString is [Keyring.String], so that %#v does not print key material.
func (kr *Keyring) GoString() string { return kr.String() }

// GenerateKey returns a new random 32-byte secret from crypto/rand.
func GenerateKey() ([]byte, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("seal: generating key: %w", err)
	}
	return b, nil
}

// GenerateSecret returns a new random 32-byte secret encoded as unpadded
// base64url, the form [ParseSecrets] reads from configuration, environment
// variables and command-line flags.
func GenerateSecret() (string, error) {
	b, err := GenerateKey()
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// ParseSecrets builds a [Keyring] from a comma-separated list of base64
// secrets, newest first, as written by [GenerateSecret]. Each secret may be
// base64url or standard base64, padded or not; spaces around commas are
// ignored. It returns an error for an empty list or element, for an element
// that is not base64, and for anything [NewKeyring] refuses. Errors name the
// position of the faulty secret, never its content.
func ParseSecrets(s string) (*Keyring, error) {
	parts := strings.Split(s, ",")
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("seal: no secret given")
	}
	secrets := make([][]byte, len(parts))
	for i, p := range parts {
		p = strings.TrimRight(strings.TrimSpace(p), "=")
		if p == "" {
			return nil, fmt.Errorf("seal: secret %d of %d is empty", i+1, len(parts))
		}
		b, err := base64.RawURLEncoding.Strict().DecodeString(p)
		if err != nil {
			b, err = base64.RawStdEncoding.Strict().DecodeString(p)
		}
		if err != nil || strings.ContainsAny(p, "\r\n") {
			return nil, fmt.Errorf("seal: secret %d of %d is not base64", i+1, len(parts))
		}
		secrets[i] = b
	}
	return NewKeyring(secrets...)
}
