package seal_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sesamego/sesame/seal"
)

// secret returns a deterministic 32-byte test secret.
func secret(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

func mustKeyring(t testing.TB, secrets ...[]byte) *seal.Keyring {
	t.Helper()
	kr, err := seal.NewKeyring(secrets...)
	if err != nil {
		t.Fatalf("NewKeyring: %v", err)
	}
	return kr
}

func TestNewKeyring(t *testing.T) {
	tests := []struct {
		name    string
		secrets [][]byte
		wantErr string // "" for success
	}{
		{"one 32-byte secret is accepted", [][]byte{secret(1)}, ""},
		{"three distinct secrets are accepted", [][]byte{secret(1), secret(2), secret(3)}, ""},
		{"a 64-byte secret is accepted", [][]byte{bytes.Repeat([]byte("x"), 64)}, ""},
		{"no secret is refused", nil, "no secret"},
		{"an empty secret is refused", [][]byte{{}}, "secret 1 of 1 is 0 bytes"},
		{"a 31-byte secret is refused", [][]byte{make([]byte, 31)}, "secret 1 of 1 is 31 bytes, want at least 32"},
		{"a short old secret is refused", [][]byte{secret(1), secret(2)[:16]}, "secret 2 of 2 is 16 bytes"},
		{"the same secret twice is refused", [][]byte{secret(1), secret(2), secret(1)}, "secrets 1 and 3 derive the same key ID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kr, err := seal.NewKeyring(tt.secrets...)
			if tt.wantErr == "" {
				if err != nil || kr == nil {
					t.Fatalf("got (%v, %v), want a keyring", kr, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("got no error, want one containing %q", tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "seal: ") {
				t.Errorf("got error %q, want one starting with \"seal: \" and containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestNewKeyringDoesNotKeepTheCallersSlice(t *testing.T) {
	s := secret(7)
	kr := mustKeyring(t, s)
	v := kr.Sign("p", []byte("m"), time.Time{})
	for i := range s {
		s[i] = 0
	}
	if _, _, err := kr.Verify("p", v); err != nil {
		t.Fatalf("got %v after the caller cleared its secret, want the keyring unaffected", err)
	}
}

func TestKeyIDIsDerivedNotCopied(t *testing.T) {
	// A secret whose first bytes are a recognizable key ID must not show up
	// as the key ID of its values.
	s := append([]byte{0xde, 0xad, 0xbe, 0xef}, make([]byte, 28)...)
	kr := mustKeyring(t, s)
	_, info, err := kr.Verify("p", kr.Sign("p", nil, time.Time{}))
	if err != nil {
		t.Fatal(err)
	}
	if info.KeyID == 0xdeadbeef {
		t.Errorf("got key ID %08x, the secret's first bytes, want a derived ID", info.KeyID)
	}
	// The same secret in another keyring derives the same ID.
	_, info2, err := mustKeyring(t, secret(9), s).Verify("p", kr.Sign("p", nil, time.Time{}))
	if err != nil || info2.KeyID != info.KeyID {
		t.Errorf("got key ID %08x, %v in a second keyring, want %08x", info2.KeyID, err, info.KeyID)
	}
}

func TestParseSecrets(t *testing.T) {
	raw1, raw2 := secret(1), bytes.Repeat([]byte{0xfb, 0xff, 0xbf}, 11) // the second encodes with - _ and + /
	url1 := base64.RawURLEncoding.EncodeToString(raw1)
	url2 := base64.RawURLEncoding.EncodeToString(raw2)
	std2 := base64.StdEncoding.EncodeToString(raw2)
	tests := []struct {
		name    string
		in      string
		want    [][]byte // the secrets the result must equal, newest first
		wantErr string
	}{
		{"one unpadded base64url secret", url1, [][]byte{raw1}, ""},
		{"two secrets, newest first", url2 + "," + url1, [][]byte{raw2, raw1}, ""},
		{"standard base64 with padding", std2, [][]byte{raw2}, ""},
		{"spaces around commas are ignored", " " + url1 + " , " + std2 + " ", [][]byte{raw1, raw2}, ""},
		{"an empty string is refused", "", nil, "no secret given"},
		{"only spaces are refused", "   ", nil, "no secret given"},
		{"an empty element is refused", url1 + ",,", nil, "secret 2 of 3 is empty"},
		{"a non-base64 element is refused", url1 + ",not*base64", nil, "secret 2 of 2 is not base64"},
		{"a newline inside a secret is refused", url1[:10] + "\n" + url1[10:], nil, "secret 1 of 1 is not base64"},
		{"a short secret is refused", base64.RawURLEncoding.EncodeToString(make([]byte, 16)), nil, "is 16 bytes"},
		{"a passphrase that is not base64 is refused", "correct horse battery staple!!!!!!!!!!!!!!!", nil, "not base64"},
		{"the same secret twice is refused", url1 + "," + url1, nil, "same key ID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kr, err := seal.ParseSecrets(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), url1) || strings.Contains(err.Error(), url1[:12]) {
					t.Errorf("got error %q, which reveals the secret", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			// The keyring must be the one NewKeyring builds from want.
			wantKR := mustKeyring(t, tt.want...)
			v := wantKR.Sign("p", []byte("m"), time.Time{})
			if _, info, err := kr.Verify("p", v); err != nil || info.Stale {
				t.Errorf("got (stale %v, %v) opening a value of the expected newest key, want it to open as current", info.Stale, err)
			}
			for i, s := range tt.want[1:] {
				old := mustKeyring(t, s).Sign("p", []byte("m"), time.Time{})
				if _, info, err := kr.Verify("p", old); err != nil || !info.Stale {
					t.Errorf("secret %d: got (stale %v, %v), want it to open as stale", i+2, info.Stale, err)
				}
			}
		})
	}
}

func TestGenerateKey(t *testing.T) {
	a, err := seal.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	b, err := seal.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != 32 {
		t.Errorf("got %d bytes, want 32", len(a))
	}
	if bytes.Equal(a, b) {
		t.Errorf("got the same key twice: %x", a)
	}
	if _, err := seal.NewKeyring(a, b); err != nil {
		t.Errorf("got %v building a keyring from generated keys, want none", err)
	}
}

func TestGenerateSecretParses(t *testing.T) {
	s1, err := seal.GenerateSecret()
	if err != nil {
		t.Fatal(err)
	}
	s2, err := seal.GenerateSecret()
	if err != nil {
		t.Fatal(err)
	}
	if len(s1) != 43 || strings.ContainsAny(s1, "+/=") {
		t.Errorf("got %q, want 43 unpadded base64url characters", s1)
	}
	if _, err := seal.ParseSecrets(s1 + "," + s2); err != nil {
		t.Errorf("got %v parsing generated secrets, want none", err)
	}
}

func TestKeyringStringRevealsNoKeyMaterial(t *testing.T) {
	s := secret(0x41) // "AAAA..." as text
	kr := mustKeyring(t, s, secret(2))
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		got := fmt.Sprintf(format, kr)
		if !strings.HasPrefix(got, "seal.Keyring{keys: 2, current: ") || strings.Contains(got, "AAAA") {
			t.Errorf("%s: got %q, want a summary without key material", format, got)
		}
	}
}

func TestErrorsAreDistinct(t *testing.T) {
	if errors.Is(seal.ErrInvalid, seal.ErrTooLarge) || errors.Is(seal.ErrTooLarge, seal.ErrInvalid) {
		t.Error("got ErrInvalid and ErrTooLarge matching each other, want distinct errors")
	}
}
