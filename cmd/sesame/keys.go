package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sesamego/sesame/seal"
	"github.com/sesamego/sesame/store"
)

// secretsEnv holds the keyring's secrets, newest first.
const secretsEnv = "SESAME_SECRETS"

// --- keygen -------------------------------------------------------------

func setupKeygen(c *cli, fs *flag.FlagSet) func(context.Context, []string) error {
	asJSON := fs.Bool("json", false, "print JSON")
	return func(_ context.Context, args []string) error {
		if len(args) > 0 {
			return usageErr("unexpected argument %q", args[0])
		}
		secret, err := seal.GenerateSecret()
		if err != nil {
			return err
		}
		id, err := keyID(secret)
		if err != nil {
			return err
		}
		if *asJSON {
			return writeJSON(c.stdout, map[string]string{"secret": secret, "key_id": id})
		}
		if _, err := fmt.Fprintln(c.stdout, secret); err != nil {
			return err
		}
		if c.tty {
			fmt.Fprintf(c.stderr, "key ID %s. To rotate, put it first in $%s (comma-separated, newest first)\nand keep the old secrets after it until the values they sealed have expired.\n", id, secretsEnv)
		}
		return nil
	}
}

// keyID returns the key ID (8 hex digits) that one secret derives, by
// sealing an empty message with it and reading the header (see the seal
// package's wire format).
func keyID(secret string) (string, error) {
	kr, err := seal.ParseSecrets(secret)
	if err != nil {
		return "", err
	}
	raw, err := base64.RawURLEncoding.DecodeString(kr.Sign("sesame key id", nil, time.Time{}))
	if err != nil || len(raw) < 5 {
		return "", errors.New("reading the key ID")
	}
	return fmt.Sprintf("%08x", binary.BigEndian.Uint32(raw[1:5])), nil
}

// --- cookie decode ------------------------------------------------------

// Modes of a sealed value: the first byte of the decoded value.
const (
	formatSigned    = 0x11
	formatEncrypted = 0x12
)

// Statuses of a decoded cookie.
const (
	statusValid      = "valid"
	statusExpired    = "expired"
	statusTampered   = "tampered"
	statusUnknownKey = "unknown-key"
	statusNotSealed  = "not-sealed"
	statusSessionID  = "session-id"
	statusRemember   = "remember-me"
	statusUnverified = "unverified" // signed, read without a key
)

// decodedCookie is the output of cookie decode.
type decodedCookie struct {
	Name    string `json:"name"`
	Status  string `json:"status"`
	Mode    string `json:"mode,omitempty"`
	KeyID   string `json:"key_id,omitempty"`
	Key     string `json:"key,omitempty"` // "current", "old (2 of 3)" or "not in the keyring"
	Purpose string `json:"purpose,omitempty"`
	// Expires is null for a value that never expires.
	Expires *time.Time `json:"expires,omitempty"`
	// Body is the message as JSON when it is JSON, else as a JSON string.
	Body json.RawMessage `json:"body,omitempty"`
	// Hash is the store key of a session ID.
	Hash string `json:"hash,omitempty"`
	// Selector is the public half of a remember-me token, its lookup key.
	Selector string `json:"selector,omitempty"`
	Problem  string `json:"problem,omitempty"`
}

func setupCookieDecode(c *cli, fs *flag.FlagSet) func(context.Context, []string) error {
	var keys []string
	fs.Func("key", "the `SECRETS`, comma-separated, newest first (default $"+secretsEnv+"; may be repeated)", func(s string) error {
		keys = append(keys, s)
		return nil
	})
	purpose := fs.String("purpose", "", "the `purpose` the value was sealed for (default: the cookie name)")
	asJSON := fs.Bool("json", false, "print JSON")
	return func(_ context.Context, args []string) error {
		if len(args) == 1 {
			if name, value, ok := strings.Cut(args[0], "="); ok { // NAME=VALUE as copied from a header
				args = []string{name, value}
			}
		}
		if len(args) != 2 {
			return usageErr("want NAME VALUE, got %d arguments", len(args))
		}
		name, value := args[0], strings.Trim(strings.TrimSpace(args[1]), `"`)
		p := *purpose
		if p == "" {
			p = name
		}
		secrets := strings.Join(keys, ",")
		if secrets == "" {
			secrets = c.getenv(secretsEnv)
		}
		d, err := c.decodeCookie(name, value, p, secrets)
		if err != nil {
			return err
		}
		if *asJSON {
			if err := writeJSON(c.stdout, d); err != nil {
				return err
			}
		} else if err := c.printCookie(d); err != nil {
			return err
		}
		if d.Status != statusValid && d.Status != statusSessionID && d.Status != statusRemember {
			return &codeError{exitInvalid, errors.New(d.Problem)}
		}
		return nil
	}
}

// ring is a keyring with the ID of each of its keys.
type ring struct {
	kr  *seal.Keyring
	ids []string // newest first
}

func parseRing(secrets string) (*ring, error) {
	kr, err := seal.ParseSecrets(secrets)
	if err != nil {
		return nil, err
	}
	r := &ring{kr: kr}
	for s := range strings.SplitSeq(secrets, ",") {
		id, err := keyID(strings.TrimSpace(s))
		if err != nil {
			return nil, err
		}
		r.ids = append(r.ids, id)
	}
	return r, nil
}

func (r *ring) describe(id string) string {
	for i, k := range r.ids {
		if k == id {
			if i == 0 {
				return "current"
			}
			return fmt.Sprintf("old, %d of %d: re-sealed under the current key when read", i+1, len(r.ids))
		}
	}
	return "not in the keyring"
}

// decodeCookie works out what value is. Errors are for the tool's own
// failures (no or bad secrets); a value that does not open is a status.
func (c *cli) decodeCookie(name, value, purpose, secrets string) (decodedCookie, error) {
	d := decodedCookie{Name: name}
	if isSessionID(value) {
		d.Status = statusSessionID
		d.Hash = store.Key(value)
		return d, nil
	}
	if sel, ok := rememberSelector(value); ok {
		d.Status = statusRemember
		d.Selector = sel
		return d, nil
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(value)
	if err != nil || len(raw) < 6 || (raw[0] != formatSigned && raw[0] != formatEncrypted) {
		d.Status = statusNotSealed
		d.Problem = "not a sealed value, a sesame session ID or a sesame remember-me token: a plain cookie, or another library's format"
		return d, nil
	}
	d.Purpose = purpose
	open := (*seal.Keyring).VerifyAt
	d.Mode = "signed (HMAC-SHA256): anybody can read it, nobody can change it"
	if raw[0] == formatEncrypted {
		open = (*seal.Keyring).DecryptAt
		d.Mode = "encrypted (XChaCha20-Poly1305): nobody can read or change it"
	}
	d.KeyID = fmt.Sprintf("%08x", binary.BigEndian.Uint32(raw[1:5]))
	var expires time.Time
	if exp, n := binary.Uvarint(raw[5:]); n > 0 && exp > 0 {
		expires = time.Unix(int64(exp), 0).UTC()
		d.Expires = &expires
	}
	if secrets == "" {
		if raw[0] != formatSigned {
			return d, usageErr("no key: pass --key SECRETS or set $%s", secretsEnv)
		}
		// A signed value is readable by anybody: show it, unverified.
		msg, ok := signedMessage(raw)
		if !ok {
			d.Status = statusTampered
			d.Problem = "too short to be a signed value: it was changed or cut"
			return d, nil
		}
		d.Status = statusUnverified
		d.Problem = fmt.Sprintf("not verified: no key was given (--key or $%s), so anybody could have written this value", secretsEnv)
		d.Body = bodyJSON(msg)
		return d, nil
	}
	r, err := parseRing(secrets)
	if err != nil {
		return d, fmt.Errorf("secrets: %w", err)
	}
	d.Key = r.describe(d.KeyID)
	if d.Key == "not in the keyring" {
		d.Status = statusUnknownKey
		d.Problem = fmt.Sprintf("sealed under key %s, which is not among the %s given: it cannot be checked",
			d.KeyID, plural(len(r.ids), "key"))
		return d, nil
	}
	now := c.now()
	msg, _, err := open(r.kr, purpose, value, now)
	switch {
	case err == nil:
		d.Status = statusValid
	case !expires.IsZero() && !now.Before(expires):
		// Authentic but expired? Open it as of just before its expiry.
		msg, _, err = open(r.kr, purpose, value, expires.Add(-time.Second))
		if err != nil {
			break
		}
		d.Status = statusExpired
		d.Problem = fmt.Sprintf("expired %s, at %s: the value is authentic but no longer accepted",
			c.ago(expires), c.formatTime(expires))
	}
	if d.Status == "" {
		d.Status = statusTampered
		d.Problem = fmt.Sprintf("does not verify under key %s: the value was changed, or it was sealed for another purpose than %q (see --purpose)",
			d.KeyID, purpose)
		return d, nil
	}
	d.Body = bodyJSON(msg)
	return d, nil
}

// signedMessage returns the message of a decoded signed value without
// verifying it: what lies between the header and the HMAC tag.
func signedMessage(raw []byte) ([]byte, bool) {
	_, n := binary.Uvarint(raw[5:])
	if n <= 0 || len(raw) < 5+n+sha256.Size {
		return nil, false
	}
	return raw[5+n : len(raw)-sha256.Size], true
}

// Sizes of a sesame remember-me cookie, "selector:verifier" (package
// remember): 16 and 32 random bytes, unpadded base64url.
const (
	rememberSelectorLen = 22
	rememberVerifierLen = 43
)

// rememberSelector reports whether v has the form of a sesame remember-me
// cookie and returns its selector.
func rememberSelector(v string) (string, bool) {
	sel, ver, ok := strings.Cut(v, ":")
	if !ok || len(sel) != rememberSelectorLen || len(ver) != rememberVerifierLen {
		return "", false
	}
	b64 := base64.RawURLEncoding.Strict()
	if _, err := b64.DecodeString(sel); err != nil {
		return "", false
	}
	if _, err := b64.DecodeString(ver); err != nil {
		return "", false
	}
	return sel, true
}

// bodyJSON returns msg as JSON: itself when it is JSON, else a JSON string
// (with invalid UTF-8 replaced).
func bodyJSON(msg []byte) json.RawMessage {
	if len(msg) > 0 && json.Valid(msg) {
		return json.RawMessage(msg)
	}
	s := string(msg)
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	b, _ := json.Marshal(s)
	return b
}

func (c *cli) printCookie(d decodedCookie) error {
	tw := table(c.stdout)
	fmt.Fprintf(tw, "cookie\t%s\n", printable(d.Name))
	switch d.Status {
	case statusSessionID:
		fmt.Fprintf(tw, "status\ta sesame session ID (not sealed: the store holds the session)\n")
		fmt.Fprintf(tw, "hash\t%s\n", d.Hash)
		if err := tw.Flush(); err != nil {
			return err
		}
		_, err := fmt.Fprintf(c.stdout, "\nsee it with: sesame sessions show %s\n", shortHash(d.Hash))
		return err
	case statusRemember:
		fmt.Fprintf(tw, "status\ta sesame remember-me token (selector:verifier, not sealed: the store holds its hash)\n")
		fmt.Fprintf(tw, "selector\t%s\n", d.Selector)
		if err := tw.Flush(); err != nil {
			return err
		}
		_, err := fmt.Fprintf(c.stdout, "\nthe verifier is a secret that logs its user in: do not share this value.\nrevoke the user's tokens with: sesame sessions delete --user ID\n")
		return err
	case statusNotSealed:
		fmt.Fprintf(tw, "status\tNOT SEALED\n")
		fmt.Fprintf(tw, "problem\t%s\n", d.Problem)
		return tw.Flush()
	}
	status := map[string]string{
		statusValid:      "valid",
		statusExpired:    "EXPIRED",
		statusTampered:   "INVALID",
		statusUnknownKey: "UNKNOWN KEY",
		statusUnverified: "UNVERIFIED",
	}[d.Status]
	fmt.Fprintf(tw, "status\t%s\n", status)
	if d.Problem != "" {
		fmt.Fprintf(tw, "problem\t%s\n", d.Problem)
	}
	fmt.Fprintf(tw, "mode\t%s\n", d.Mode)
	fmt.Fprintf(tw, "key ID\t%s", d.KeyID)
	if d.Key != "" {
		fmt.Fprintf(tw, " (%s)", d.Key)
	}
	fmt.Fprintln(tw)
	fmt.Fprintf(tw, "purpose\t%s\n", printable(d.Purpose))
	if d.Expires == nil {
		fmt.Fprintf(tw, "expires\tnever\n")
	} else {
		fmt.Fprintf(tw, "expires\t%s (%s)\n", c.formatTime(*d.Expires), c.ago(*d.Expires))
	}
	if d.Status == statusTampered || d.Status == statusUnknownKey || d.Status == statusUnverified {
		fmt.Fprintf(tw, "note\tthe key ID and expiry are what the value claims: nothing was verified\n")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if d.Body != nil {
		var pretty strings.Builder
		if err := jsonIndent(&pretty, d.Body); err != nil {
			return err
		}
		_, err := fmt.Fprintf(c.stdout, "\nbody:\n%s\n", pretty.String())
		return err
	}
	return nil
}

func jsonIndent(b *strings.Builder, raw json.RawMessage) error {
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		return err
	}
	b.Write(buf.Bytes())
	return nil
}
