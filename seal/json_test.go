package seal_test

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sesamego/sesame/seal"
)

type cart struct {
	Items []string `json:"items"`
	Total int      `json:"total"`
}

func TestJSONRoundTrip(t *testing.T) {
	kr := mustKeyring(t, secret(1))
	want := cart{Items: []string{"sesame", "tahini"}, Total: 7}
	exp := time.Now().Add(time.Hour).Truncate(time.Second)

	signed, err := seal.SignJSON(kr, "cart", want, exp)
	if err != nil {
		t.Fatal(err)
	}
	got, info, err := seal.VerifyJSON[cart](kr, "cart", signed)
	if err != nil || got.Total != want.Total || strings.Join(got.Items, ",") != "sesame,tahini" || !info.Expires.Equal(exp) {
		t.Errorf("signed: got (%+v, %+v, %v), want %+v expiring %v", got, info, err, want, exp)
	}

	encrypted, err := seal.EncryptJSON(kr, "cart", want, exp)
	if err != nil {
		t.Fatal(err)
	}
	got, info, err = seal.DecryptJSON[cart](kr, "cart", encrypted)
	if err != nil || got.Total != want.Total || len(got.Items) != 2 || !info.Expires.Equal(exp) {
		t.Errorf("encrypted: got (%+v, %+v, %v), want %+v", got, info, err, want)
	}
}

func TestJSONFailures(t *testing.T) {
	kr := mustKeyring(t, secret(1))
	signedNumber, err := seal.SignJSON(kr, "n", 42, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	encryptedNumber, err := seal.EncryptJSON(kr, "n", 42, time.Time{})
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name        string
		open        func() (cart, seal.Info, error)
		wantInvalid bool
	}{
		{"a signed value of another type is a decoding error", func() (cart, seal.Info, error) {
			return seal.VerifyJSON[cart](kr, "n", signedNumber)
		}, false},
		{"an encrypted value of another type is a decoding error", func() (cart, seal.Info, error) {
			return seal.DecryptJSON[cart](kr, "n", encryptedNumber)
		}, false},
		{"a signed value under another purpose is invalid", func() (cart, seal.Info, error) {
			return seal.VerifyJSON[cart](kr, "other", signedNumber)
		}, true},
		{"an encrypted value given to VerifyJSON is invalid", func() (cart, seal.Info, error) {
			return seal.VerifyJSON[cart](kr, "n", encryptedNumber)
		}, true},
		{"a tampered value is invalid", func() (cart, seal.Info, error) {
			return seal.DecryptJSON[cart](kr, "n", encryptedNumber[:len(encryptedNumber)-2]+"AA")
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, info, err := tt.open()
			if err == nil {
				t.Fatalf("got %+v, want an error", v)
			}
			if got := errors.Is(err, seal.ErrInvalid); got != tt.wantInvalid {
				t.Errorf("got errors.Is(%v, ErrInvalid) = %v, want %v", err, got, tt.wantInvalid)
			}
			if !strings.HasPrefix(err.Error(), "seal: ") {
				t.Errorf("got error %q, want the seal: prefix", err)
			}
			if v.Total != 0 || v.Items != nil || info != (seal.Info{}) {
				t.Errorf("got (%+v, %+v), want zero values alongside the error", v, info)
			}
		})
	}
}

func TestJSONEncodingErrors(t *testing.T) {
	kr := mustKeyring(t, secret(1))
	if _, err := seal.SignJSON(kr, "p", make(chan int), time.Time{}); err == nil || !strings.HasPrefix(err.Error(), "seal: encoding JSON") {
		t.Errorf("SignJSON of a channel: got %v, want an encoding error", err)
	}
	if _, err := seal.EncryptJSON(kr, "p", func() {}, time.Time{}); err == nil || !strings.HasPrefix(err.Error(), "seal: encoding JSON") {
		t.Errorf("EncryptJSON of a func: got %v, want an encoding error", err)
	}
	// The largest string whose signed JSON fits: 49152 raw bytes, minus a
	// 6-byte header without expiry, a 32-byte tag and 2 quotes.
	fits := strings.Repeat("x", base64.RawURLEncoding.DecodedLen(seal.MaxLen)-6-32-2)
	v, err := seal.SignJSON(kr, "p", fits, time.Time{})
	if err != nil || len(v) != seal.MaxLen {
		t.Errorf("SignJSON of the largest string: got %d characters, %v, want exactly MaxLen", len(v), err)
	}
	if _, err := seal.SignJSON(kr, "p", fits+"x", time.Time{}); !errors.Is(err, seal.ErrTooLarge) {
		t.Errorf("SignJSON of one byte more: got %v, want ErrTooLarge (not a panic)", err)
	}
	big := strings.Repeat("x", seal.MaxLen)
	if _, err := seal.SignJSON(kr, "p", big, time.Time{}); !errors.Is(err, seal.ErrTooLarge) {
		t.Errorf("SignJSON of %d bytes: got %v, want ErrTooLarge (not a panic)", len(big), err)
	}
	if _, err := seal.EncryptJSON(kr, "p", big, time.Time{}); !errors.Is(err, seal.ErrTooLarge) {
		t.Errorf("EncryptJSON of %d bytes: got %v, want ErrTooLarge", len(big), err)
	}
}
