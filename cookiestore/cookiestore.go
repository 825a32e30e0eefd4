package cookiestore

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"sync"
	"time"

	"github.com/sesamego/sesame/cookies"
	"github.com/sesamego/sesame/seal"
	"github.com/sesamego/sesame/store"
)

// Defaults for [Options].
const (
	DefaultName              = "sdata"
	DefaultMaxChunks         = 5
	DefaultCompressThreshold = 256
)

// ErrNoRequest is returned when the store is called without the request and
// response that sesame's Manager passes (see store.WithHTTP).
var ErrNoRequest = errors.New("cookiestore: no request in context; use the store through sesame.Manager or store.WithHTTP")

// Options configures a [Store].
type Options struct {
	// Keys encrypts the cookies. Required.
	Keys *seal.Keyring

	// Name is the data cookie's name. Empty means "sdata". When the cookie
	// is Secure and the name has no prefix, "__Host-" is added (as
	// sesame's Manager does), so use the same AllowInsecureHTTP for both.
	Name string

	// Cookie holds the data cookie's attributes (MaxAge is ignored: the
	// cookie lives as long as the session). The zero value is Secure,
	// HttpOnly, SameSite=Lax, Path=/.
	Cookie cookies.Options

	// MaxChunks bounds the number of cookies a session may take. Zero
	// means 5.
	MaxChunks int

	// CompressThreshold is the payload size above which it is compressed.
	// Zero means 256 bytes; negative never compresses.
	CompressThreshold int

	// MaxRecordSize bounds a session's values (see store.Size), checked
	// before sealing. Zero means 2800 bytes per chunk allowed (14000 with
	// the default MaxChunks), which fits even incompressible values.
	MaxRecordSize int

	// Epochs, when set, enables "log out everywhere" for cookie sessions:
	// a session bound to a user before the user's epoch is refused.
	Epochs Epochs
}

// Epochs stores, per user, the moment before which their cookie sessions are
// invalid. It must be shared by every process of the app (a table or a
// Redis key); [NewMemoryEpochs] suits one process.
type Epochs interface {
	Epoch(ctx context.Context, userID string) (time.Time, error)
	SetEpoch(ctx context.Context, userID string, t time.Time) error
}

// Store keeps sessions in encrypted, chunked cookies. It is safe for
// concurrent use; each call works on the request in its context.
type Store struct {
	keys      *seal.Keyring
	name      string
	opts      cookies.Options
	maxChunks int
	maxSize   int
	threshold int
	epochs    Epochs
	now       func() time.Time
}

var (
	_ store.Store     = (*Store)(nil)
	_ store.UserIndex = (*Store)(nil)
)

// New validates o and returns a Store.
func New(o Options) (*Store, error) {
	if o.Keys == nil {
		return nil, errors.New("cookiestore: Options.Keys is required")
	}
	s := &Store{keys: o.Keys, name: o.Name, opts: o.Cookie, maxChunks: o.MaxChunks,
		threshold: o.CompressThreshold, epochs: o.Epochs, now: time.Now}
	if s.name == "" {
		s.name = DefaultName
	}
	if s.opts.Path == "" {
		s.opts.Path = "/"
	}
	if !s.opts.AllowInsecureHTTP && !hasPrefix(s.name) {
		if s.opts.Domain == "" && s.opts.Path == "/" {
			s.name = "__Host-" + s.name
		} else {
			s.name = "__Secure-" + s.name
		}
	}
	s.opts.MaxAge = 0
	if s.maxChunks <= 0 {
		s.maxChunks = DefaultMaxChunks
	}
	s.maxSize = o.MaxRecordSize
	if s.maxSize <= 0 {
		s.maxSize = 2800 * s.maxChunks
	}
	if s.threshold == 0 {
		s.threshold = DefaultCompressThreshold
	}
	if err := cookies.Validate(s.opts.Cookie(s.name, "x")); err != nil {
		return nil, fmt.Errorf("cookiestore: %w", err)
	}
	return s, nil
}

func hasPrefix(name string) bool {
	return len(name) >= 7 && (name[:7] == "__Host-" || (len(name) >= 9 && name[:9] == "__Secure-"))
}

// MaxRecordSize returns the size limit on a session's values.
func (s *Store) MaxRecordSize() int { return s.maxSize }

// Name returns the data cookie's name.
func (s *Store) Name() string { return s.name }

// ClientSide reports true: the records live in the client's cookies
// ([store.ClientSide]).
func (s *Store) ClientSide() bool { return true }

// payload is what the cookie carries, before compression and encryption.
type payload struct {
	Key       string            `json:"k"`
	Created   time.Time         `json:"c"`
	LastSeen  time.Time         `json:"s"`
	Expires   time.Time         `json:"e"`
	UserID    string            `json:"u,omitempty"`
	IP        string            `json:"ip,omitempty"`
	UserAgent string            `json:"ua,omitempty"`
	Bound     time.Time         `json:"b,omitzero"`  // when UserID was set, for the epoch check
	Values    map[string][]byte `json:"v,omitempty"` // byte-exact (base64 in the JSON)
}

// Payload encoding: one flag byte (0 plain JSON, 1 deflate) then the body.
const (
	flagPlain   = 0
	flagDeflate = 1
)

// state is what one request has written, so that it reads its own writes
// and a regenerate's delete of the old key does not clear the new cookie.
type state struct {
	mu      sync.Mutex
	key     string
	p       *payload // nil: deleted
	written bool
}

func (s *Store) state(h *store.HTTP) *state {
	return h.State(func() any { return &state{} }).(*state)
}

func (s *Store) http(ctx context.Context) (*store.HTTP, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	h := store.HTTPFrom(ctx)
	if h == nil || h.R == nil {
		return nil, ErrNoRequest
	}
	return h, nil
}

// read returns the payload for key from this request (its own writes first,
// then its cookies), or nil.
func (s *Store) read(ctx context.Context, h *store.HTTP, key string) (*payload, error) {
	st := s.state(h)
	st.mu.Lock()
	written, wkey, wp := st.written, st.key, st.p
	st.mu.Unlock()
	if written && wkey == key {
		return wp, nil
	}
	raw, err := cookies.GetChunked(h.R, s.name, s.maxChunks)
	if err != nil {
		return nil, nil // missing or broken chunks: no session (fail closed)
	}
	msg, info, err := s.keys.DecryptAt(s.name, raw, s.now())
	if err != nil {
		return nil, nil // tampered, foreign or expired: no session
	}
	p, err := decode(msg)
	if err != nil || p.Key != key || !p.Expires.After(s.now()) {
		return nil, nil
	}
	if p.UserID != "" && s.epochs != nil {
		ep, err := s.epochs.Epoch(ctx, p.UserID)
		if err != nil {
			return nil, fmt.Errorf("%w: cookiestore: epoch: %w", store.ErrUnavailable, err)
		}
		if p.Bound.Before(ep) {
			return nil, nil // logged out everywhere since
		}
	}
	if info.Stale {
		// Sealed under an older key: re-issue it under the current one.
		if err := s.write(h, key, p); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// Load returns the session sealed in the request's cookies under key.
func (s *Store) Load(ctx context.Context, key string) (store.Record, bool, error) {
	if !store.ValidKey(key) {
		return store.Record{}, false, store.ErrMalformedKey
	}
	h, err := s.http(ctx)
	if err != nil {
		return store.Record{}, false, err
	}
	p, err := s.read(ctx, h, key)
	if err != nil || p == nil {
		return store.Record{}, false, err
	}
	return p.record(), true, nil
}

// Apply merges c onto the request's session and writes the result to the
// response's cookies. It cannot see changes other requests made meanwhile.
func (s *Store) Apply(ctx context.Context, key string, c store.Change) error {
	if !store.ValidKey(key) {
		return store.ErrMalformedKey
	}
	if err := store.CheckChange(&c); err != nil {
		return fmt.Errorf("cookiestore: apply: %w", err)
	}
	h, err := s.http(ctx)
	if err != nil {
		return err
	}
	cur, err := s.read(ctx, h, key)
	if err != nil {
		return err
	}
	var rec store.Record
	if cur != nil {
		rec = cur.record()
	}
	now := s.now()
	next, err := store.Merge(rec, cur != nil, c, now)
	if err != nil {
		return err
	}
	if n := store.Size(next.Values); n > s.maxSize {
		return fmt.Errorf("%w: cookiestore: session is %d bytes, over the limit of %d", store.ErrTooLarge, n, s.maxSize)
	}
	p := fromRecord(key, next)
	if cur != nil {
		p.Bound = cur.Bound
	}
	if c.SetUser {
		p.Bound = now
	}
	return s.write(h, key, p)
}

func (s *Store) write(h *store.HTTP, key string, p *payload) error {
	msg, err := s.encode(p)
	if err != nil {
		return err
	}
	sealed, err := s.keys.Encrypt(s.name, msg, p.Expires)
	if err != nil {
		return fmt.Errorf("cookiestore: seal: %w", err)
	}
	o := s.opts
	o.MaxAge = time.Until(p.Expires)
	if o.MaxAge < time.Second {
		o.MaxAge = time.Second
	}
	if err := cookies.SetChunked(h.W, h.R, s.name, sealed, o, s.maxChunks); err != nil {
		if errors.Is(err, cookies.ErrTooLarge) {
			return fmt.Errorf("%w: cookiestore: session is %d bytes sealed: %w", store.ErrTooLarge, len(sealed), err)
		}
		return fmt.Errorf("cookiestore: %w", err)
	}
	st := s.state(h)
	st.mu.Lock()
	st.key, st.p, st.written = key, p, true
	st.mu.Unlock()
	return nil
}

// Delete clears the session's cookies, unless this request already wrote a
// session under another key (a regenerated ID), which it keeps.
func (s *Store) Delete(ctx context.Context, key string) error {
	if !store.ValidKey(key) {
		return store.ErrMalformedKey
	}
	h, err := s.http(ctx)
	if err != nil {
		return err
	}
	st := s.state(h)
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.written && st.key != key && st.p != nil {
		return nil
	}
	st.key, st.p, st.written = key, nil, true
	return cookies.ClearChunked(h.W, h.R, s.name, s.opts)
}

// UserSessions cannot list cookie sessions: they live in browsers. It
// returns nil.
func (s *Store) UserSessions(ctx context.Context, userID string) ([]store.Entry, error) {
	return nil, nil
}

// DeleteUserSessions invalidates every cookie session of userID bound before
// now, by moving the user's epoch (it needs [Options.Epochs]). The session
// under except, when it is the current request's, is re-bound and survives.
// The count is unknown and reported as 0.
func (s *Store) DeleteUserSessions(ctx context.Context, userID, except string) (int, error) {
	if s.epochs == nil {
		return 0, errors.New("cookiestore: DeleteUserSessions needs Options.Epochs")
	}
	now := s.now()
	if err := s.epochs.SetEpoch(ctx, userID, now); err != nil {
		return 0, fmt.Errorf("%w: cookiestore: epoch: %w", store.ErrUnavailable, err)
	}
	if except == "" {
		return 0, nil
	}
	h := store.HTTPFrom(ctx)
	if h == nil || h.R == nil {
		return 0, nil
	}
	p, err := s.readIgnoringEpoch(h, except)
	if err != nil || p == nil || p.UserID != userID {
		return 0, err
	}
	p.Bound = now
	return 0, s.write(h, except, p)
}

// readIgnoringEpoch is read without the epoch check (the epoch just moved).
func (s *Store) readIgnoringEpoch(h *store.HTTP, key string) (*payload, error) {
	st := s.state(h)
	st.mu.Lock()
	written, wkey, wp := st.written, st.key, st.p
	st.mu.Unlock()
	if written && wkey == key {
		return wp, nil
	}
	raw, err := cookies.GetChunked(h.R, s.name, s.maxChunks)
	if err != nil {
		return nil, nil
	}
	msg, _, err := s.keys.DecryptAt(s.name, raw, s.now())
	if err != nil {
		return nil, nil
	}
	p, err := decode(msg)
	if err != nil || p.Key != key {
		return nil, nil
	}
	return p, nil
}

func (p *payload) record() store.Record {
	return store.Record{Values: maps.Clone(p.Values), Created: p.Created, LastSeen: p.LastSeen,
		Expires: p.Expires, UserID: p.UserID, IP: p.IP, UserAgent: p.UserAgent}
}

func fromRecord(key string, rec store.Record) *payload {
	return &payload{Key: key, Created: rec.Created, LastSeen: rec.LastSeen, Expires: rec.Expires,
		UserID: rec.UserID, IP: rec.IP, UserAgent: rec.UserAgent, Values: maps.Clone(rec.Values)}
}

func (s *Store) encode(p *payload) ([]byte, error) {
	body, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("cookiestore: encode: %w", err)
	}
	if s.threshold > 0 && len(body) > s.threshold {
		var buf bytes.Buffer
		buf.WriteByte(flagDeflate)
		zw, _ := flate.NewWriter(&buf, flate.BestCompression)
		_, _ = zw.Write(body)
		_ = zw.Close()
		if buf.Len() < len(body)+1 {
			return buf.Bytes(), nil
		}
	}
	return append([]byte{flagPlain}, body...), nil
}

// maxPayload bounds decompression (a sealed value is at most 64 KiB, but a
// deflate bomb could inflate far past it).
const maxPayload = 1 << 20

func decode(msg []byte) (*payload, error) {
	if len(msg) == 0 {
		return nil, errors.New("cookiestore: empty payload")
	}
	body := msg[1:]
	switch msg[0] {
	case flagPlain:
	case flagDeflate:
		b, err := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(body)), maxPayload+1))
		if err != nil || len(b) > maxPayload {
			return nil, errors.New("cookiestore: bad compressed payload")
		}
		body = b
	default:
		return nil, errors.New("cookiestore: unknown payload format")
	}
	var p payload
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, fmt.Errorf("cookiestore: decode: %w", err)
	}
	return &p, nil
}

// MemoryEpochs is an in-process [Epochs]. It is safe for concurrent use.
type MemoryEpochs struct {
	mu sync.Mutex
	m  map[string]time.Time
}

// NewMemoryEpochs returns an empty MemoryEpochs.
func NewMemoryEpochs() *MemoryEpochs { return &MemoryEpochs{m: map[string]time.Time{}} }

// Epoch returns the user's epoch (zero: none).
func (e *MemoryEpochs) Epoch(_ context.Context, userID string) (time.Time, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.m[userID], nil
}

// SetEpoch sets the user's epoch.
func (e *MemoryEpochs) SetEpoch(_ context.Context, userID string, t time.Time) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.m[userID] = t
	return nil
}
