package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/sesamego/sesame/seal"
)

// testSecret returns a fixed 32-byte secret, base64url, made of the byte b.
func testSecret(b byte) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strings.Repeat(string(rune(b)), 32)))
}

func testRing(t *testing.T, secrets ...string) *seal.Keyring {
	t.Helper()
	kr, err := seal.ParseSecrets(strings.Join(secrets, ","))
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// tamper changes one character in the middle of a sealed value.
func tamper(v string) string {
	i := len(v) / 2
	c := byte('A')
	if v[i] == 'A' {
		c = 'B'
	}
	return v[:i] + string(c) + v[i+1:]
}

func TestGoldenCookieDecode(t *testing.T) {
	a, b, other := testSecret('a'), testSecret('b'), testSecret('z')
	current, old, foreign := testRing(t, a), testRing(t, b), testRing(t, other)
	keys := a + "," + b
	signed := current.Sign("__Host-prefs", []byte(`{"theme":"dark","lang":"en"}`), t0.Add(time.Hour))
	encrypted, err := current.Encrypt("remember", []byte("alice"), t0.Add(30*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	forever := current.Sign("flags", []byte(`[1,2,3]`), time.Time{})
	stale := old.Sign("__Host-prefs", []byte(`{"theme":"light"}`), t0.Add(time.Hour))
	expired, err := current.Encrypt("remember", []byte(`{"user":"bob"}`), t0.Add(-90*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	unknown := foreign.Sign("__Host-prefs", []byte(`{}`), t0.Add(time.Hour))
	elsewhere := current.Sign("__Host-other", []byte(`{}`), t0.Add(time.Hour))
	// A remember-me cookie (package remember): selector:verifier.
	rememberMe := rememberValue(0x42)

	tests := []struct {
		name string
		env  map[string]string
		args []string
	}{
		{"signed", nil, []string{"cookie", "decode", "--key", keys, "__Host-prefs", signed}},
		{"signed-json", nil, []string{"cookie", "decode", "--json", "--key", keys, "__Host-prefs", signed}},
		{"encrypted-key-from-env", map[string]string{secretsEnv: keys}, []string{"cookie", "decode", "remember", encrypted}},
		{"name-equals-value", map[string]string{secretsEnv: keys}, []string{"cookie", "decode", "flags=" + forever}},
		{"old-key", nil, []string{"cookie", "decode", "--key", a, "--key", b, "__Host-prefs", stale}},
		{"expired", nil, []string{"cookie", "decode", "--key", keys, "remember", expired}},
		{"tampered", nil, []string{"cookie", "decode", "--key", keys, "__Host-prefs", tamper(signed)}},
		{"tampered-json", nil, []string{"cookie", "decode", "--key", keys, "--json", "__Host-prefs", tamper(signed)}},
		{"another-purpose", nil, []string{"cookie", "decode", "--key", keys, "__Host-prefs", elsewhere}},
		{"purpose-flag", nil, []string{"cookie", "decode", "--key", keys, "--purpose", "__Host-other", "__Host-prefs", elsewhere}},
		{"unknown-key", nil, []string{"cookie", "decode", "--key", keys, "__Host-prefs", unknown}},
		{"not-sealed", nil, []string{"cookie", "decode", "--key", keys, "theme", "dark"}},
		{"session-id", nil, []string{"cookie", "decode", "__Host-sid", fakeID("alice-laptop")}},
		{"no-key", nil, []string{"cookie", "decode", "__Host-prefs", signed}},
		{"no-key-json", nil, []string{"cookie", "decode", "--json", "__Host-prefs", signed}},
		{"encrypted-no-key", nil, []string{"cookie", "decode", "remember", encrypted}},
		{"tampered-no-key", nil, []string{"cookie", "decode", "__Host-prefs", signed[:20]}},
		{"remember-me", nil, []string{"cookie", "decode", "remember", rememberMe}},
		{"remember-me-json", nil, []string{"cookie", "decode", "--json", "remember", rememberMe}},
		{"bad-key", nil, []string{"cookie", "decode", "--key", "c2hvcnQ", "__Host-prefs", signed}},
		{"one-argument", nil, []string{"cookie", "decode", "--key", keys, "__Host-prefs"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := cmd(t, tt.env, tt.args...)
			// The values are long and some are random: show them by name.
			replace := map[string]string{keys: "KEYS", a: "SECRET_A", b: "SECRET_B", signed: "SIGNED", encrypted: "ENCRYPTED",
				forever: "FOREVER", stale: "STALE", expired: "EXPIRED", unknown: "FOREIGN", elsewhere: "ELSEWHERE",
				tamper(signed): "TAMPERED", rememberMe: "REMEMBER_ME"}
			golden(t, "cookie-"+tt.name, tt.args, r, replace)
		})
	}
}

func TestCookieDecodeExitCodes(t *testing.T) {
	a := testSecret('a')
	kr := testRing(t, a)
	v := kr.Sign("n", []byte("1"), t0.Add(time.Minute))
	tests := []struct {
		name  string
		value string
		key   string
		want  int
	}{
		{"a valid value exits 0", v, a, exitOK},
		{"a tampered value exits 4", tamper(v), a, exitInvalid},
		{"a value under another key exits 4", v, testSecret('q'), exitInvalid},
		{"a value that is not sealed exits 4", "plain", a, exitInvalid},
		{"a session ID exits 0", fakeID("s"), "", exitOK},
		{"a remember-me cookie exits 0", rememberValue(1), "", exitOK},
		{"a signed value read without a key exits 4", v, "", exitInvalid},
		{"an encrypted value without a key is a usage error", mustEncrypt(t, kr, "n"), "", exitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"cookie", "decode", "n", tt.value}
			if tt.key != "" {
				args = append(args, "--key", tt.key)
			}
			if r := cmd(t, nil, args...); r.code != tt.want {
				t.Errorf("exit %d, want %d (stderr %q)", r.code, tt.want, r.stderr)
			}
		})
	}
	// Just before its expiry the value opens; at its expiry it does not.
	c, out, errOut := testCLI(nil)
	c.now = func() time.Time { return t0.Add(59 * time.Second) }
	if r := runWith(t, c, out, errOut, "cookie", "decode", "--key", a, "n", v); r.code != exitOK {
		t.Errorf("a second before expiry: exit %d, want 0", r.code)
	}
	c.now = func() time.Time { return t0.Add(time.Minute) }
	r := runWith(t, c, out, errOut, "cookie", "decode", "--key", a, "--json", "n", v)
	var d decodedCookie
	if err := json.Unmarshal([]byte(r.stdout), &d); err != nil || r.code != exitInvalid || d.Status != statusExpired || string(d.Body) != "1" {
		t.Errorf("at expiry: exit %d, %+v (%v); want exit 4, status expired with the body", r.code, d, err)
	}
}

// rememberValue returns a remember-me cookie value (package remember's
// selector:verifier) whose selector starts with the byte first.
func rememberValue(first byte) string {
	sel := make([]byte, 16)
	sel[0] = first
	return base64.RawURLEncoding.EncodeToString(sel) + ":" + fakeID("verifier")
}

func mustEncrypt(t *testing.T, kr *seal.Keyring, purpose string) string {
	t.Helper()
	v, err := kr.Encrypt(purpose, []byte("1"), t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestSignedValueWithoutAKeyIsReadUnverified(t *testing.T) {
	kr := testRing(t, testSecret('a'))
	v := kr.Sign("prefs", []byte(`{"theme":"dark"}`), t0.Add(time.Hour))
	r := cmd(t, nil, "cookie", "decode", "--json", "prefs", v)
	var d decodedCookie
	if err := json.Unmarshal([]byte(r.stdout), &d); err != nil {
		t.Fatalf("%v in %q", err, r.stdout)
	}
	var body bytes.Buffer
	if err := json.Compact(&body, d.Body); err != nil {
		t.Fatal(err)
	}
	if d.Status != statusUnverified || body.String() != `{"theme":"dark"}` || r.code != exitInvalid {
		t.Errorf("got exit %d, %+v; want exit 4, status unverified and the body", r.code, d)
	}
}

func TestKeygen(t *testing.T) {
	seen := map[string]bool{}
	for range 3 {
		r := cmd(t, nil, "keygen")
		secret := strings.TrimSpace(r.stdout)
		if r.code != 0 || r.stderr != "" {
			t.Fatalf("keygen = %+v", r)
		}
		if seen[secret] {
			t.Fatal("keygen printed the same secret twice")
		}
		seen[secret] = true
		if b, err := base64.RawURLEncoding.DecodeString(secret); err != nil || len(b) != 32 {
			t.Errorf("secret %q is not 32 bytes of base64url: %v", secret, err)
		}
		if _, err := seal.ParseSecrets(secret); err != nil {
			t.Errorf("seal.ParseSecrets refuses the secret: %v", err)
		}
	}
	r := cmd(t, nil, "keygen", "--json")
	var out struct {
		Secret string `json:"secret"`
		KeyID  string `json:"key_id"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || len(out.KeyID) != 8 {
		t.Fatalf("keygen --json = %q (%v)", r.stdout, err)
	}
	// The key ID is the one the secret's sealed values carry.
	d, err := (&cli{now: func() time.Time { return t0 }, loc: time.UTC}).decodeCookie("n",
		testRing(t, out.Secret).Sign("n", nil, time.Time{}), "n", out.Secret)
	if err != nil || d.KeyID != out.KeyID || d.Key != "current" {
		t.Errorf("a value sealed with the new secret has key %s (%s), keygen said %s (%v)", d.KeyID, d.Key, out.KeyID, err)
	}
	if r := cmd(t, nil, "keygen", "extra"); r.code != exitUsage {
		t.Errorf("keygen extra: exit %d, want 2", r.code)
	}
}
