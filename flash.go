package sesame

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
)

// oldInputKey holds the form input kept by FlashInput, inside the flash map.
const oldInputKey = "__old"

// Flashes are the flash messages a request received: set with
// [Session.Flash] by the previous request, gone after this one. The zero
// value and a nil *Flashes are empty.
type Flashes struct {
	m map[string]json.RawMessage
}

func parseFlashes(raw []byte) *Flashes {
	f := &Flashes{}
	if len(raw) > 0 {
		_ = json.Unmarshal(raw, &f.m) // a corrupt flash map is dropped, not fatal
	}
	return f
}

// Get returns the flash under key decoded as by [Session.Get], or nil.
func (f *Flashes) Get(key string) any {
	if f == nil {
		return nil
	}
	b, ok := f.m[key]
	if !ok {
		return nil
	}
	v, _ := decodeAny(b)
	return v
}

// String returns the flash under key when it is a string, else "".
func (f *Flashes) String(key string) string {
	s, _ := f.Get(key).(string)
	return s
}

// Has reports whether a flash under key exists.
func (f *Flashes) Has(key string) bool {
	if f == nil {
		return false
	}
	_, ok := f.m[key]
	return ok
}

// All returns every flash message (old form input left out), decoded.
func (f *Flashes) All() map[string]any {
	out := map[string]any{}
	if f == nil {
		return out
	}
	for k, b := range f.m {
		if k == oldInputKey {
			continue
		}
		if v, err := decodeAny(b); err == nil {
			out[k] = v
		}
	}
	return out
}

// Len returns the number of flash messages (old form input left out).
func (f *Flashes) Len() int { return len(f.All()) }

// Old returns the form field's value kept by [Session.FlashInput] on the
// previous request, or "".
func (f *Flashes) Old(field string) string {
	if f == nil {
		return ""
	}
	var old map[string]string
	if b, ok := f.m[oldInputKey]; ok && json.Unmarshal(b, &old) == nil {
		return old[field]
	}
	return ""
}

// FlashAs returns the flash under key decoded into a T; see [Get].
func FlashAs[T any](f *Flashes, key string) (T, bool) {
	var v T
	if f == nil {
		return v, false
	}
	b, ok := f.m[key]
	if !ok || decodeInto(b, &v) != nil {
		var zero T
		return zero, false
	}
	return v, true
}

// Flash sets a message for the next request only (typically across a
// redirect); that request reads it with [Session.Flashes], and it is gone
// after. Every value is kept, falsy ones included. A flash is consumed
// exactly once even when two requests race, on stores that implement
// store.Taker (all of sesame's server-side stores do).
func (s *Session) Flash(key string, value any) {
	b, err := json.Marshal(value)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	if err != nil {
		if s.encErr == nil {
			s.encErr = encodeError("flash "+key, err)
		}
		return
	}
	s.flashOutLocked()[key] = b
}

func (s *Session) flashOutLocked() map[string]json.RawMessage {
	if s.flashOut == nil {
		s.flashOut = map[string]json.RawMessage{}
	}
	s.dirty = true
	return s.flashOut
}

// Flashes returns this request's flash messages. It never returns nil.
func (s *Session) Flashes() *Flashes {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	if s.flashIn == nil {
		s.flashIn = &Flashes{}
	}
	return s.flashIn
}

// Reflash keeps all of this request's flash messages for the next request
// too (messages flashed in this request win).
func (s *Session) Reflash() { s.reflash(func(string) bool { return true }) }

// ReflashOnly keeps only the listed flash messages for the next request.
func (s *Session) ReflashOnly(keys ...string) {
	s.reflash(func(k string) bool { return slices.Contains(keys, k) })
}

// ReflashExcept keeps every flash message but the listed ones for the next
// request.
func (s *Session) ReflashExcept(keys ...string) {
	s.reflash(func(k string) bool { return !slices.Contains(keys, k) })
}

func (s *Session) reflash(keep func(string) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	if s.flashIn == nil || len(s.flashIn.m) == 0 {
		return
	}
	out := s.flashOutLocked()
	for k, v := range s.flashIn.m {
		if _, newer := out[k]; !newer && keep(k) {
			out[k] = v
		}
	}
}

// FlashInput keeps the request's form input for the next request, minus the
// fields listed in except (always list passwords and card numbers), so a
// form shown again after a validation error can be refilled with
// [Flashes.Old]. Fields named "_csrf" are never kept. Only the first value of
// each field is kept.
func (s *Session) FlashInput(r *http.Request, except ...string) {
	_ = r.ParseForm()
	old := map[string]string{}
	for k, vs := range r.PostForm {
		if len(vs) == 0 || k == "_csrf" || slices.ContainsFunc(except, func(e string) bool { return strings.EqualFold(e, k) }) {
			continue
		}
		old[k] = vs[0]
	}
	b, _ := json.Marshal(old) // a map of strings always encodes
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	s.flashOutLocked()[oldInputKey] = b
}
