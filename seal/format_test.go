package seal

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"testing"
	"time"
)

// forge builds a value with an arbitrary header and a correct tag under the
// keyring's newest key, as only the key holder could. It lets tests check
// the header rules that the tag alone would not enforce.
func forge(t *testing.T, kr *Keyring, format byte, header []byte, purpose string, msg []byte) string {
	t.Helper()
	k := kr.keys[0]
	p := make([]byte, purposeLen(purpose))
	putPurpose(p, purpose)
	switch format {
	case formatSigned:
		h := k.mac()
		defer k.putMAC(h)
		raw := append(bytes.Clone(header), msg...)
		h.Write(append(p, raw...))
		return base64.RawURLEncoding.EncodeToString(h.Sum(raw))
	default:
		nonce := make([]byte, nonceLen)
		raw := append(bytes.Clone(header), nonce...)
		raw = k.aead.Seal(raw, nonce, msg, append(p, header...))
		return base64.RawURLEncoding.EncodeToString(raw)
	}
}

func header(format byte, id uint32, expiry ...byte) []byte {
	return append(binary.BigEndian.AppendUint32([]byte{format}, id), expiry...)
}

func TestHeaderRules(t *testing.T) {
	kr, err := NewKeyring(bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	id := kr.keys[0].id
	now := time.Unix(1000, 0)
	tests := []struct {
		name   string
		format byte // the mode the value is built and opened in
		header []byte
		opens  bool
	}{
		{"a canonical header without expiry opens", formatSigned, header(formatSigned, id, 0), true},
		{"a canonical header with expiry opens", formatSigned, header(formatSigned, id, 0xe8, 0x0f), true}, // 2024
		{"an encrypted canonical header opens", formatEncrypted, header(formatEncrypted, id, 0), true},
		{"a non-minimal zero expiry is refused", formatSigned, header(formatSigned, id, 0x80, 0x00), false},
		{"a non-minimal expiry is refused", formatSigned, header(formatSigned, id, 0xe8, 0x8f, 0x00), false},
		{"an encrypted non-minimal expiry is refused", formatEncrypted, header(formatEncrypted, id, 0x80, 0x00), false},
		{"an expiry after year 9999 is refused", formatSigned, header(formatSigned, id, binary.AppendUvarint(nil, maxExpiry+1)...), false},
		{"an overflowing expiry is refused", formatSigned, header(formatSigned, id, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01), false},
		{"an unknown version is refused", formatSigned, header(0x21, id, 0), false},
		{"an unknown encrypted version is refused", formatEncrypted, header(0x22, id, 0), false},
		{"a signed format byte in an encrypted value is refused", formatEncrypted, header(formatSigned, id, 0), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := forge(t, kr, tt.format, tt.header, "p", []byte("msg"))
			open := kr.VerifyAt
			if tt.format == formatEncrypted {
				open = kr.DecryptAt
			}
			msg, _, err := open("p", v, now)
			if got := err == nil; got != tt.opens {
				t.Fatalf("got opened=%v (%v), want %v", got, err, tt.opens)
			}
			if tt.opens && string(msg) != "msg" {
				t.Errorf("got %q, want msg", msg)
			}
		})
	}
}

func TestWireLayout(t *testing.T) {
	kr, err := NewKeyring(bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	id := kr.keys[0].id
	exp := time.Unix(1772366400, 0)
	wantHeader := header(formatSigned, id, binary.AppendUvarint(nil, 1772366400)...)

	raw, _ := base64.RawURLEncoding.DecodeString(kr.Sign("p", []byte("hi"), exp))
	if !bytes.HasPrefix(raw, wantHeader) || string(raw[len(wantHeader):len(wantHeader)+2]) != "hi" || len(raw) != len(wantHeader)+2+32 {
		t.Errorf("signed: got % x, want header % x, \"hi\" and a 32-byte tag", raw, wantHeader)
	}
	v, _ := kr.Encrypt("p", []byte("hi"), exp)
	raw, _ = base64.RawURLEncoding.DecodeString(v)
	wantHeader[0] = formatEncrypted
	if !bytes.HasPrefix(raw, wantHeader) || len(raw) != len(wantHeader)+24+2+16 {
		t.Errorf("encrypted: got % x, want header % x, a 24-byte nonce, 2 bytes and a 16-byte tag", raw, wantHeader)
	}
}
