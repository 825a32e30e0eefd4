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
	"net/http"
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

// ErrNoRequest is returned by the Store's own Load, Apply and Delete, which
// have no request to read the cookies of: make a request's calls on the
// store that [Store.ForRequest] returns (sesame's Manager does).
var ErrNoRequest = errors.New("cookiestore: no request; call the store that ForRequest returns for the request")

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
// concurrent use. It implements [store.ClientSide]: a request's calls are
// made on the store that [Store.ForRequest] returns for it.
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
	_ store.ClientSide = (*Store)(nil)
	_ store.UserIndex  = (*Store)(nil)
	_ store.UserIndex  = (*requestStore)(nil)
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

// ForRequest returns the store for one request's calls, following
// [store.ClientSide]: it reads the session from r's cookies and writes it to
// w's Set-Cookie headers. sesame's Manager calls it for every request; call
// it yourself to use the store without the Manager (in tests, say).
func (s *Store) ForRequest(w http.ResponseWriter, r *http.Request) store.Store {
	return &requestStore{s: s, w: w, r: r}
}

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

// requestStore is the Store of one request: see [Store.ForRequest].
type requestStore struct {
	s  *Store
	w  http.ResponseWriter
	r  *http.Request
	st state
}

// state is what one request has written, so that it reads its own writes
// and a regenerate's delete of the old key does not clear the new cookie.
type state struct {
	mu      sync.Mutex
	key     string
	p       *payload // nil: deleted
	written bool
}

// Load returns [ErrNoRequest] (or [store.ErrMalformedKey]): see
// [Store.ForRequest].
func (s *Store) Load(ctx context.Context, key string) (store.Record, bool, error) {
	if !store.ValidKey(key) {
		return store.Record{}, false, store.ErrMalformedKey
	}
	return store.Record{}, false, ErrNoRequest
}

// Apply returns [ErrNoRequest] (or an error for a malformed key or
// change): see [Store.ForRequest].
func (s *Store) Apply(ctx context.Context, key string, c store.Change) error {
	if !store.ValidKey(key) {
		return store.ErrMalformedKey
	}
	if err := store.CheckChange(&c); err != nil {
		return fmt.Errorf("cookiestore: apply: %w", err)
	}
	return ErrNoRequest
}

// Delete returns [ErrNoRequest] (or [store.ErrMalformedKey]): see
// [Store.ForRequest].
func (s *Store) Delete(ctx context.Context, key string) error {
	if !store.ValidKey(key) {
		return store.ErrMalformedKey
	}
	return ErrNoRequest
}

// read returns the payload for key from this request (its own writes first,
// then its cookies), or nil.
func (h *requestStore) read(ctx context.Context, key string) (*payload, error) {
	s, st := h.s, &h.st
	st.mu.Lock()
	written, wkey, wp := st.written, st.key, st.p
	st.mu.Unlock()
	if written && wkey == key {
		return wp, nil
	}
	raw, err := cookies.GetChunked(h.r, s.name, s.maxChunks)
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
		if err := h.write(key, p); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// Load returns the session sealed in the request's cookies under key.
func (h *requestStore) Load(ctx context.Context, key string) (store.Record, bool, error) {
	if !store.ValidKey(key) {
		return store.Record{}, false, store.ErrMalformedKey
	}
	if err := ctx.Err(); err != nil {
		return store.Record{}, false, err
	}
	p, err := h.read(ctx, key)
	if err != nil || p == nil {
		return store.Record{}, false, err
	}
	return p.record(), true, nil
}

// Apply merges c onto the request's session and writes the result to the
// response's cookies. It cannot see changes other requests made meanwhile.
func (h *requestStore) Apply(ctx context.Context, key string, c store.Change) error {
	if !store.ValidKey(key) {
		return store.ErrMalformedKey
	}
	if err := store.CheckChange(&c); err != nil {
		return fmt.Errorf("cookiestore: apply: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s := h.s
	cur, err := h.read(ctx, key)
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
	return h.write(key, p)
}

func (h *requestStore) write(key string, p *payload) error {
	s := h.s
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
	if err := cookies.SetChunked(h.w, h.r, s.name, sealed, o, s.maxChunks); err != nil {
		if errors.Is(err, cookies.ErrTooLarge) {
			return fmt.Errorf("%w: cookiestore: session is %d bytes sealed: %w", store.ErrTooLarge, len(sealed), err)
		}
		return fmt.Errorf("cookiestore: %w", err)
	}
	st := &h.st
	st.mu.Lock()
	st.key, st.p, st.written = key, p, true
	st.mu.Unlock()
	return nil
}

// Delete clears the session's cookies, unless this request already wrote a
// session under another key (a regenerated ID), which it keeps.
func (h *requestStore) Delete(ctx context.Context, key string) error {
	if !store.ValidKey(key) {
		return store.ErrMalformedKey
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	st := &h.st
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.written && st.key != key && st.p != nil {
		return nil
	}
	st.key, st.p, st.written = key, nil, true
	return cookies.ClearChunked(h.w, h.r, h.s.name, h.s.opts)
}

// UserSessions cannot list cookie sessions: they live in browsers. It
// returns nil.
func (s *Store) UserSessions(ctx context.Context, userID string) ([]store.Entry, error) {
	return nil, nil
}

// UserSessions returns nil, as [Store.UserSessions] does.
func (h *requestStore) UserSessions(ctx context.Context, userID string) ([]store.Entry, error) {
	return nil, nil
}

// DeleteUserSessions invalidates every cookie session of userID bound before
// now, by moving the user's epoch (it needs [Options.Epochs]). Without a
// request, no session is spared: except is ignored (the store that
// [Store.ForRequest] returns spares the request's own). The count is
// unknown and reported as 0.
func (s *Store) DeleteUserSessions(ctx context.Context, userID, except string) (int, error) {
	if s.epochs == nil {
		return 0, errors.New("cookiestore: DeleteUserSessions needs Options.Epochs")
	}
	if err := s.epochs.SetEpoch(ctx, userID, s.now()); err != nil {
		return 0, fmt.Errorf("%w: cookiestore: epoch: %w", store.ErrUnavailable, err)
	}
	return 0, nil
}

// DeleteUserSessions is [Store.DeleteUserSessions], except that the session
// under except, when it is the request's own, is re-bound and survives.
func (h *requestStore) DeleteUserSessions(ctx context.Context, userID, except string) (int, error) {
	s := h.s
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
	p, err := h.readIgnoringEpoch(except)
	if err != nil || p == nil || p.UserID != userID {
		return 0, err
	}
	p.Bound = now
	return 0, h.write(except, p)
}

// readIgnoringEpoch is read without the epoch check (the epoch just moved).
func (h *requestStore) readIgnoringEpoch(key string) (*payload, error) {
	s, st := h.s, &h.st
	st.mu.Lock()
	written, wkey, wp := st.written, st.key, st.p
	st.mu.Unlock()
	if written && wkey == key {
		return wp, nil
	}
	raw, err := cookies.GetChunked(h.r, s.name, s.maxChunks)
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
