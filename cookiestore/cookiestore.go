package cookiestore

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/sesamego/sesame/cookies"
	"github.com/sesamego/sesame/internal/flat"
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
	tmpl      *cookies.Template // the data cookie, validated once
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
	tmpl, err := s.opts.Template(s.name)
	if err != nil {
		return nil, fmt.Errorf("cookiestore: %w", err)
	}
	s.tmpl = tmpl
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

// Local reports whether the store's calls never wait on I/O, so that
// sesame's Manager calls them without a deadline and a timer for each: true
// unless [Options.Epochs] is set (it may be a database).
func (s *Store) Local() bool { return s.epochs == nil }

// ForRequest returns the store for one request's calls, following
// [store.ClientSide]: it reads the session from r's cookies and writes it to
// w's Set-Cookie headers. sesame's Manager calls it for every request; call
// it yourself to use the store without the Manager (in tests, say).
func (s *Store) ForRequest(w http.ResponseWriter, r *http.Request) store.Store {
	return &requestStore{s: s, w: w, r: r}
}

// payload is what the data cookie carries: the record, under its key, and
// when its user was bound to it (for the epoch check).
type payload struct {
	key   [keyLen]byte // the store key, decoded from hex
	bound int64        // Unix nanoseconds when UserID was set; 0 for none
	rec   flat.Record  // the record, in package flat's encoding
}

// keyLen is the length of a decoded store key.
const keyLen = 32

// Payload encoding: one flag byte, then the body. Cookies are written in
// the binary form, deflated above the threshold; the JSON forms of earlier
// versions are still read.
//
//	0  JSON (jsonPayload), as written before the binary form
//	1  deflate of the JSON
//	2  binary: the 32-byte key, the bound as 8 bytes (little-endian Unix
//	   nanoseconds, 0 for none), then the record (package flat)
//	3  deflate of the binary body
const (
	flagJSON          = 0
	flagJSONDeflate   = 1
	flagBinary        = 2
	flagBinaryDeflate = 3
)

// headerLen is the size of a binary payload before its record: the flag,
// the key and the bound.
const headerLen = 1 + keyLen + 8

// jsonPayload is the payload of earlier versions, still read.
type jsonPayload struct {
	Key       string            `json:"k"`
	Created   time.Time         `json:"c"`
	LastSeen  time.Time         `json:"s"`
	Expires   time.Time         `json:"e"`
	UserID    string            `json:"u,omitempty"`
	IP        string            `json:"ip,omitempty"`
	UserAgent string            `json:"ua,omitempty"`
	Bound     time.Time         `json:"b,omitzero"`
	Values    map[string][]byte `json:"v,omitempty"`
}

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
	key     [keyLen]byte
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
	p, info, err := h.open(key)
	if err != nil || p == nil {
		return nil, err
	}
	s := h.s
	if user := p.rec.UserID(); len(user) > 0 && s.epochs != nil {
		ep, err := s.epochs.Epoch(ctx, string(user))
		if err != nil {
			return nil, fmt.Errorf("%w: cookiestore: epoch: %w", store.ErrUnavailable, err)
		}
		if flatTime(p.bound).Before(ep) {
			return nil, nil // logged out everywhere since
		}
	}
	if info.Stale {
		// Sealed under an older key: re-issue it under the current one.
		if err := h.write(p); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// open returns the live payload for key from this request (its own writes
// first, then its cookies), or nil, without the epoch check. A request
// without the data cookie costs no parsing.
func (h *requestStore) open(key string) (*payload, seal.Info, error) {
	s, st := h.s, &h.st
	k, ok := decodeKey(key)
	if !ok {
		return nil, seal.Info{}, store.ErrMalformedKey
	}
	st.mu.Lock()
	written, wp := st.written, st.p
	wkey := st.key
	st.mu.Unlock()
	if written && wkey == k {
		return wp, seal.Info{}, nil
	}
	if !cookies.Has(h.r, s.name) {
		return nil, seal.Info{}, nil
	}
	raw, err := cookies.GetChunked(h.r, s.name, s.maxChunks)
	if err != nil {
		return nil, seal.Info{}, nil // broken chunks: no session (fail closed)
	}
	now := s.now()
	msg, info, err := s.keys.DecryptAt(s.name, raw, now)
	if err != nil {
		return nil, seal.Info{}, nil // tampered, foreign or expired: no session
	}
	p, err := decode(msg)
	if err != nil || p.key != k || !p.rec.LiveAt(now.UnixNano()) {
		return nil, seal.Info{}, nil
	}
	return p, info, nil
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
	// The values share the payload's memory, which nothing modifies: the
	// request's own decryption, or what it wrote.
	return p.rec.Record(true), true, nil
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
	p := &payload{}
	var base flat.Record
	if cur != nil {
		base, p.bound = cur.rec, cur.bound
	}
	now := s.now()
	if c.SetUser {
		p.bound = now.UnixNano()
	}
	// The payload's header, then the merged record, in one allocation.
	p.key, _ = decodeKey(key)
	msg := appendHeader(make([]byte, 0, 256), p)
	msg, size, err := flat.AppendMerge(msg, base, cur != nil, c, now)
	if err != nil {
		return err
	}
	if size > s.maxSize {
		return fmt.Errorf("%w: cookiestore: session is %d bytes, over the limit of %d", store.ErrTooLarge, size, s.maxSize)
	}
	p.rec = msg[headerLen:]
	return h.writeMsg(p, msg)
}

// write seals p into the response's cookies.
func (h *requestStore) write(p *payload) error {
	msg := appendHeader(make([]byte, 0, headerLen+len(p.rec)), p)
	return h.writeMsg(p, append(msg, p.rec...))
}

// writeMsg seals msg, the binary encoding of p, into the response's cookies,
// deflated when it is over the threshold and that makes it smaller.
func (h *requestStore) writeMsg(p *payload, msg []byte) error {
	s := h.s
	if s.threshold > 0 && len(msg) > s.threshold {
		if z := deflate(msg[1:]); len(z) < len(msg) {
			msg = z
		}
	}
	expires := flatTime(p.rec.ExpiresNanos())
	sealed, err := s.keys.Encrypt(s.name, msg, expires)
	if err != nil {
		return fmt.Errorf("cookiestore: seal: %w", err)
	}
	maxAge := time.Until(expires)
	if maxAge < time.Second {
		maxAge = time.Second
	}
	if err := s.tmpl.SetChunked(h.w, h.r, sealed, maxAge, s.maxChunks); err != nil {
		if errors.Is(err, cookies.ErrTooLarge) {
			return fmt.Errorf("%w: cookiestore: session is %d bytes sealed: %w", store.ErrTooLarge, len(sealed), err)
		}
		return fmt.Errorf("cookiestore: %w", err)
	}
	st := &h.st
	st.mu.Lock()
	st.key, st.p, st.written = p.key, p, true
	st.mu.Unlock()
	return nil
}

// appendHeader appends the flag, key and bound of p's binary encoding.
func appendHeader(b []byte, p *payload) []byte {
	b = append(b, flagBinary)
	b = append(b, p.key[:]...)
	return binary.LittleEndian.AppendUint64(b, uint64(p.bound))
}

// deflate returns body deflated, after the flag of a deflated binary
// payload.
func deflate(body []byte) []byte {
	var buf bytes.Buffer
	buf.WriteByte(flagBinaryDeflate)
	zw, _ := flate.NewWriter(&buf, flate.BestCompression)
	_, _ = zw.Write(body)
	_ = zw.Close()
	return buf.Bytes()
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
	k, _ := decodeKey(key)
	st := &h.st
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.written && st.key != k && st.p != nil {
		return nil
	}
	st.key, st.p, st.written = k, nil, true
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
	if !store.ValidKey(except) {
		return 0, store.ErrMalformedKey
	}
	p, _, err := h.open(except)
	if err != nil || p == nil || string(p.rec.UserID()) != userID {
		return 0, err
	}
	rebound := *p
	rebound.bound = now.UnixNano()
	return 0, h.write(&rebound)
}

// decodeKey decodes a store key (64 lower-case hex characters).
func decodeKey(key string) ([keyLen]byte, bool) {
	var k [keyLen]byte
	if !store.ValidKey(key) {
		return k, false
	}
	for i := range k {
		k[i] = unhex(key[2*i])<<4 | unhex(key[2*i+1])
	}
	return k, true
}

// unhex is the value of a lower-case hex digit.
func unhex(c byte) byte {
	if c <= '9' {
		return c - '0'
	}
	return c - 'a' + 10
}

func flatTime(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// maxPayload bounds decompression (a sealed value is at most 64 KiB, but a
// deflate bomb could inflate far past it).
const maxPayload = 1 << 20

// decode returns the payload msg encodes, in any of the forms, checking
// every length.
func decode(msg []byte) (*payload, error) {
	if len(msg) == 0 {
		return nil, errors.New("cookiestore: empty payload")
	}
	flag, body := msg[0], msg[1:]
	switch flag {
	case flagBinary, flagJSON:
	case flagBinaryDeflate, flagJSONDeflate:
		b, err := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(body)), maxPayload+1))
		if err != nil || len(b) > maxPayload {
			return nil, errors.New("cookiestore: bad compressed payload")
		}
		body = b
	default:
		return nil, errors.New("cookiestore: unknown payload format")
	}
	if flag == flagJSON || flag == flagJSONDeflate {
		return decodeJSON(body)
	}
	if len(body) < headerLen-1 {
		return nil, errors.New("cookiestore: short payload")
	}
	p := &payload{bound: int64(binary.LittleEndian.Uint64(body[keyLen : keyLen+8]))}
	copy(p.key[:], body[:keyLen])
	rec, err := flat.Parse(body[keyLen+8:])
	if err != nil {
		return nil, fmt.Errorf("cookiestore: decode: %w", err)
	}
	p.rec = rec
	return p, nil
}

// decodeJSON decodes the JSON payload of earlier versions.
func decodeJSON(body []byte) (*payload, error) {
	var j jsonPayload
	if err := json.Unmarshal(body, &j); err != nil {
		return nil, fmt.Errorf("cookiestore: decode: %w", err)
	}
	k, ok := decodeKey(j.Key)
	if !ok {
		return nil, errors.New("cookiestore: decode: malformed key")
	}
	rec := store.Record{Values: j.Values, Created: j.Created, LastSeen: j.LastSeen, Expires: j.Expires,
		UserID: j.UserID, IP: j.IP, UserAgent: j.UserAgent}
	return &payload{key: k, bound: flat.Nanos(j.Bound), rec: flat.Encode(rec)}, nil
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
