package cookies

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/sesamego/sesame/seal"
)

// A Jar writes and reads signed and encrypted cookies with a [seal.Keyring]
// and one set of [Options]. Each value is sealed with the cookie's name as its
// purpose, so it cannot be replayed under another name, and with the cookie's
// lifetime (Options.MaxAge, else Options.Expires) as its expiry, so a copy
// kept past the cookie's life does not open either.
//
// Readers take the http.ResponseWriter: a value sealed under an older key is
// re-issued under the newest one, with the lifetime it had left, so keys
// rotate without logging anybody out. Pass a nil writer to skip that. Read
// before the response's header is written, or the re-issued cookie is lost.
//
// A Jar is safe for concurrent use. Use [Jar.WithOptions] for cookies that
// need other attributes.
type Jar struct {
	keys *seal.Keyring
	opts Options
	now  func() time.Time
}

// NewJar returns a Jar that seals with keys and writes cookies with the
// attributes o. It panics if keys is nil.
func NewJar(keys *seal.Keyring, o Options) *Jar {
	if keys == nil {
		panic("cookies: NewJar with a nil keyring")
	}
	return &Jar{keys: keys, opts: o, now: time.Now}
}

// WithOptions returns a Jar with the same keyring that writes cookies with the
// attributes o.
func (j *Jar) WithOptions(o Options) *Jar {
	j2 := *j
	j2.opts = o
	return &j2
}

// Options returns the attributes the Jar writes cookies with.
func (j *Jar) Options() Options { return j.opts }

// mode is one of the two ways a Jar seals values.
type mode struct {
	seal func(kr *seal.Keyring, purpose string, msg []byte, expires time.Time) (string, error)
	open func(kr *seal.Keyring, purpose, sealed string, now time.Time) ([]byte, seal.Info, error)
}

var (
	signed = mode{
		seal: func(kr *seal.Keyring, purpose string, msg []byte, expires time.Time) (string, error) {
			return kr.Sign(purpose, msg, expires), nil
		},
		open: (*seal.Keyring).VerifyAt,
	}
	encrypted = mode{
		seal: (*seal.Keyring).Encrypt,
		open: (*seal.Keyring).DecryptAt,
	}
)

// SetSigned writes a cookie whose value anybody can read (it is base64url of
// the value and a signature) but nobody can change without the Jar noticing.
// It returns the errors of [Write]; a value is too large when its sealed form
// (about 4/3 of its length plus 56 bytes) and the name exceed [MaxSize].
func (j *Jar) SetSigned(w http.ResponseWriter, name, value string) error {
	return j.set(w, name, []byte(value), signed)
}

// GetSigned returns the value of a cookie written by [Jar.SetSigned], and
// whether there was one. A tampered, expired or foreign value is "not
// present". When several cookies of that name are present, each is tried in
// order and the first that opens wins.
func (j *Jar) GetSigned(w http.ResponseWriter, r *http.Request, name string) (string, bool) {
	msg, ok := j.get(w, r, name, signed)
	return string(msg), ok
}

// SetEncrypted writes a cookie whose value nobody can read or change
// (XChaCha20-Poly1305). It returns the errors of [Write]; the sealed form is
// about 4/3 of the value's length plus 67 bytes.
func (j *Jar) SetEncrypted(w http.ResponseWriter, name, value string) error {
	return j.set(w, name, []byte(value), encrypted)
}

// GetEncrypted returns the value of a cookie written by [Jar.SetEncrypted],
// with the rules of [Jar.GetSigned].
func (j *Jar) GetEncrypted(w http.ResponseWriter, r *http.Request, name string) (string, bool) {
	msg, ok := j.get(w, r, name, encrypted)
	return string(msg), ok
}

// SetSignedJSON is [Jar.SetSigned] for the JSON encoding of v. Read it with
// [GetSignedJSON].
func (j *Jar) SetSignedJSON(w http.ResponseWriter, name string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("cookies: cookie %q: encoding JSON: %w", name, err)
	}
	return j.set(w, name, b, signed)
}

// SetEncryptedJSON is [Jar.SetEncrypted] for the JSON encoding of v. Read it
// with [GetEncryptedJSON].
func (j *Jar) SetEncryptedJSON(w http.ResponseWriter, name string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("cookies: cookie %q: encoding JSON: %w", name, err)
	}
	return j.set(w, name, b, encrypted)
}

// GetSignedJSON returns the value of a cookie written by [Jar.SetSignedJSON],
// decoded into a T, or def when the cookie is missing, does not open, or does
// not decode into a T. Other rules are those of [Jar.GetSigned].
func GetSignedJSON[T any](j *Jar, w http.ResponseWriter, r *http.Request, name string, def T) T {
	return getJSON(j, w, r, name, def, signed)
}

// GetEncryptedJSON is [GetSignedJSON] for cookies written by
// [Jar.SetEncryptedJSON].
func GetEncryptedJSON[T any](j *Jar, w http.ResponseWriter, r *http.Request, name string, def T) T {
	return getJSON(j, w, r, name, def, encrypted)
}

func getJSON[T any](j *Jar, w http.ResponseWriter, r *http.Request, name string, def T, m mode) T {
	msg, ok := j.get(w, r, name, m)
	if !ok {
		return def
	}
	var v T
	if err := json.Unmarshal(msg, &v); err != nil {
		return def
	}
	return v
}

// Clear deletes the cookie called name, with the Jar's Path and Domain; see
// [Clear].
func (j *Jar) Clear(w http.ResponseWriter, name string) error {
	return write(w, clearCookie(name, j.opts), j.now())
}

func (j *Jar) set(w http.ResponseWriter, name string, msg []byte, m mode) error {
	now := j.now()
	return j.write(w, name, msg, j.opts, j.expiry(now), now, m)
}

func (j *Jar) write(w http.ResponseWriter, name string, msg []byte, o Options, expires, now time.Time, m mode) error {
	if !isToken(name) { // before sealing, so that the error is about the name
		return Validate(&http.Cookie{Name: name})
	}
	if len(name)+len(msg) > MaxSize {
		// Sealing only makes it longer. Checking first also keeps messages
		// too large for any sealed value away from seal.
		return fmt.Errorf("cookies: cookie %q: a %d-byte value cannot fit in %d bytes once sealed: %w", name, len(msg), MaxSize, ErrTooLarge)
	}
	v, err := m.seal(j.keys, name, msg, expires)
	if err != nil {
		return fmt.Errorf("cookies: cookie %q: %w", name, err)
	}
	return write(w, o.Cookie(name, v), now)
}

// expiry is the seal expiry of a cookie written now: the end of its Max-Age,
// else its Expires, each at most MaxLifetime away; zero for a session cookie.
func (j *Jar) expiry(now time.Time) time.Time {
	switch o := j.opts; {
	case o.MaxAge < 0:
		return now // a deleting cookie: its value is dead on arrival
	case o.MaxAge > 0:
		return now.Add(time.Duration(maxAgeSeconds(o.MaxAge)) * time.Second)
	case !o.Expires.IsZero():
		return minTime(o.Expires, now.Add(MaxLifetime))
	}
	return time.Time{}
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func (j *Jar) get(w http.ResponseWriter, r *http.Request, name string, m mode) ([]byte, bool) {
	now := j.now()
	for _, v := range Values(r, name) {
		msg, info, err := m.open(j.keys, name, v, now)
		if err != nil {
			continue
		}
		if info.Stale && w != nil {
			j.reissue(w, name, msg, info.Expires, now, m)
		}
		return msg, true
	}
	return nil, false
}

// reissue writes the value again under the newest key, keeping its expiry:
// re-issuing must not extend a cookie's life.
func (j *Jar) reissue(w http.ResponseWriter, name string, msg []byte, expires, now time.Time, m mode) {
	o := j.opts
	o.MaxAge, o.Expires = 0, time.Time{}
	if !expires.IsZero() {
		o.MaxAge = expires.Sub(now)
		if !j.opts.Expires.IsZero() {
			o.Expires = expires
		}
	}
	// An error here means the Jar's options no longer produce a valid
	// cookie; the reader still gets the value, which did open.
	_ = j.write(w, name, msg, o, expires, now, m)
}
