package sesame

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"time"
)

// AnomalyAction is what sesame does when a session is used from another
// client than the one that logged in. The zero value means AnomalyIgnore.
type AnomalyAction int

// The actions of an [AnomalyPolicy].
const (
	// AnomalyIgnore does nothing.
	AnomalyIgnore AnomalyAction = iota + 1
	// AnomalyFlag lets the request go on and reports the anomaly through
	// [Session.Anomaly] (the handler may flash a warning or ask for the
	// password again) and an EventAnomaly.
	AnomalyFlag
	// AnomalyDestroy destroys the session: the request goes on as a new,
	// anonymous session, and the anomaly is still reported.
	AnomalyDestroy
)

// AnomalyPolicy compares each request of a logged-in session with the client
// recorded by [Session.SetUser]: its IP network and its user agent. Binding a
// session to its client is a detection signal, not a login check: mobile
// clients change addresses, so networks are compared by prefix, and a
// changed user agent after a browser update is normal. The zero value ignores
// anomalies.
type AnomalyPolicy struct {
	// Action is what to do on an anomaly. Zero means AnomalyIgnore.
	Action AnomalyAction

	// IPv4Prefix and IPv6Prefix are the network sizes compared. Zero means
	// /24 and /64. A negative value ignores addresses of that family.
	IPv4Prefix int
	IPv6Prefix int

	// IgnoreUserAgent compares only addresses.
	IgnoreUserAgent bool

	// ClientIP returns the client's address for r. Nil means the host part
	// of r.RemoteAddr; behind a proxy, supply a function that reads the
	// proxy's header (and trusts only the proxy).
	ClientIP func(r *http.Request) string
}

func (p *AnomalyPolicy) validate() error {
	if p.Action < 0 || p.Action > AnomalyDestroy {
		return fmt.Errorf("sesame: unknown AnomalyAction %d", p.Action)
	}
	if p.IPv4Prefix > 32 || p.IPv6Prefix > 128 {
		return fmt.Errorf("sesame: anomaly prefix /%d or /%d out of range", p.IPv4Prefix, p.IPv6Prefix)
	}
	return nil
}

func (p *AnomalyPolicy) clientIP(r *http.Request) string {
	if p.ClientIP != nil {
		return p.ClientIP(r)
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// sameNetwork reports whether a and b are in one network of the policy's
// prefix size. Unparsable addresses compare as equal strings.
func (p *AnomalyPolicy) sameNetwork(a, b string) bool {
	if a == b {
		return true
	}
	pa, errA := netip.ParseAddr(a)
	pb, errB := netip.ParseAddr(b)
	if errA != nil || errB != nil {
		return false
	}
	pa, pb = pa.Unmap(), pb.Unmap()
	if pa.Is4() != pb.Is4() {
		return false
	}
	bits := p.IPv6Prefix
	if bits == 0 {
		bits = 64
	}
	if pa.Is4() {
		bits = p.IPv4Prefix
		if bits == 0 {
			bits = 24
		}
	}
	if bits < 0 {
		return true
	}
	na, err1 := pa.Prefix(bits)
	nb, err2 := pb.Prefix(bits)
	return err1 == nil && err2 == nil && na == nb
}

// checkAnomaly compares the request with the client stored at login. s.mu is
// held and the session is loaded.
func (s *Session) checkAnomaly(_ time.Time) {
	p := &s.m.anomaly
	if p.Action == 0 || p.Action == AnomalyIgnore || s.rec.UserID == "" {
		return
	}
	reason := ""
	if s.rec.IP != "" && !p.sameNetwork(s.rec.IP, p.clientIP(s.r)) {
		reason = "ip"
	} else if !p.IgnoreUserAgent && s.rec.UserAgent != "" && s.rec.UserAgent != truncate(s.r.UserAgent(), 512) {
		reason = "user-agent"
	}
	if reason == "" {
		return
	}
	s.anomaly = reason
	s.m.emit(s.r.Context(), Event{Kind: EventAnomaly, Hash: shortHash(s.key), UserID: s.rec.UserID, Path: s.r.URL.Path, Reason: reason})
	if p.Action == AnomalyDestroy {
		s.destroyLocked()
	}
}

// Anomaly returns why this request looks like it comes from another client
// than the one that logged in ("ip" or "user-agent"), or "" when it does not
// or when the policy ignores anomalies. See [AnomalyPolicy].
func (s *Session) Anomaly() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	return s.anomaly
}
