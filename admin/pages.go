package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sesamego/sesame/csrf"
	"github.com/sesamego/sesame/remember"
	"github.com/sesamego/sesame/store"
)

// shortLen is how much of a session’s hash the pages show: enough to tell
// sessions apart and to find them in the logs (sesame logs the same
// prefix), useless to an attacker.
const shortLen = 12

// maxShownValue bounds a value shown on the session page.
const maxShownValue = 4096

// page is what every template gets.
type page struct {
	Title  string
	Base   string // the dashboard's path
	Nav    string // the menu entry to mark: "overview", "sessions", "users"
	Who    string
	Store  string
	Notice string
	CSRF   template.HTML
	Now    time.Time
	Data   any
}

var funcs = template.FuncMap{
	"ago":   ago,
	"at":    func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
	"clock": func(t time.Time) string { return t.UTC().Format("15:04:05") },
	"bytes": formatBytes,
	"ms":    formatMS,
	"short": func(h string) string { return h[:min(len(h), shortLen)] },
	"query": url.QueryEscape,
	"num":   func(v float64) string { return formatValue(v, "") },
}

// parsePages parses each page with the layout.
func parsePages() (map[string]*template.Template, error) {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("admin: %w", err)
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", n)
		if err != nil {
			return nil, fmt.Errorf("admin: template %s: %w", name, err)
		}
		pages[name] = t
	}
	return pages, nil
}

// render writes a page. The page is rendered into a buffer first, so that
// a template error becomes a clean 500.
func (h *handler) render(w http.ResponseWriter, r *http.Request, code int, name, nav, title string, data any) {
	p := page{
		Title: title, Base: h.o.Path, Nav: nav, Who: who(r), Store: h.o.StoreName,
		Notice: notice(r.URL.Query()), CSRF: csrf.TemplateField(r), Now: h.now(), Data: data,
	}
	var buf bytes.Buffer
	if err := h.pages[name].Execute(&buf, p); err != nil {
		h.log.ErrorContext(r.Context(), "admin: rendering a page", "page", name, "error", err)
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	w.Write(buf.Bytes())
}

// message renders a page that only says something.
func (h *handler) message(w http.ResponseWriter, r *http.Request, code int, title, text string) {
	h.render(w, r, code, "message", "", title, text)
}

func (h *handler) notFound(w http.ResponseWriter, r *http.Request, text string) {
	h.message(w, r, http.StatusNotFound, "Not found", text)
}

// storeFailed logs a store failure and answers 503.
func (h *handler) storeFailed(w http.ResponseWriter, r *http.Request, what string, err error) {
	h.log.ErrorContext(r.Context(), "admin: store call failed", "who", who(r), "what", what, "error", err)
	h.message(w, r, http.StatusServiceUnavailable, "Store unavailable",
		"The session store failed while "+what+". Try again in a moment; the log has the details.")
}

// notice is the message of a page reached after an action (the action
// redirects with ?done=...).
func notice(q url.Values) string {
	n, _ := strconv.Atoi(q.Get("n"))
	t, _ := strconv.Atoi(q.Get("t"))
	switch q.Get("done") {
	case "revoked":
		s := "Session " + onlyHex(q.Get("s"), shortLen) + "… revoked"
		if t > 0 {
			s += ", with its remember-me token"
		}
		return s + "."
	case "gone":
		return "Session " + onlyHex(q.Get("s"), shortLen) + "… had already ended."
	case "logout":
		return fmt.Sprintf("Logged out everywhere: %d %s and %d remember-me %s revoked.",
			n, plural(n, "session", "sessions"), t, plural(t, "token", "tokens"))
	}
	return ""
}

// onlyHex returns s if it is at most n lower-case hex characters, else "".
func onlyHex(s string, n int) string {
	if len(s) > n {
		return ""
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return ""
		}
	}
	return s
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// ---- overview ---------------------------------------------------------------

// overviewData is the overview's Data.
type overviewData struct {
	Kind      string
	Caps      []string // what the store can do
	Client    bool     // sessions live in the browsers
	NoList    bool     // the store cannot list its sessions
	Index     indexView
	PingErr   string
	PingTook  time.Duration
	Recorder  bool
	Charts    []series
	Latency   series
	Ops       []opRow
	Anomalies []anomalyEvent
	Failures  []storeFailure
	Warnings  []cookieWarning
	Measured  bool
}

// indexView is what the pages say about the index.
type indexView struct {
	Ready     bool
	Building  bool
	Read      int64
	Built     time.Time
	Took      time.Duration
	Total     int
	WithUser  int
	Anonymous int
	Users     int
	Bytes     int64
	Truncated bool
	Max       int
	Err       string
	ErrAt     time.Time
}

// opRow is one store operation over the last hour.
type opRow struct {
	Op     string
	Calls  int
	Errors int
	Avg    time.Duration
	Max    time.Duration
}

func (h *handler) indexView(st indexState) indexView {
	v := indexView{Building: st.building, Read: st.read, Max: h.o.MaxIndexed}
	if st.err != nil {
		v.Err, v.ErrAt = st.err.Error(), st.errAt
	}
	if s := st.snap; s != nil {
		v.Ready, v.Built, v.Took = true, s.built, s.built.Sub(s.started)
		v.Total, v.WithUser, v.Anonymous = s.total, s.withUser, s.total-s.withUser
		v.Users, v.Bytes, v.Truncated = len(s.users), s.bytes, s.truncated
	}
	return v
}

func (h *handler) overview(w http.ResponseWriter, r *http.Request) {
	d := overviewData{Kind: h.kind, Client: h.client, NoList: h.lister == nil && !h.client, Recorder: h.rec != nil}
	if h.lister != nil {
		d.Caps = append(d.Caps, "lists its sessions")
	}
	switch {
	case h.users != nil && !h.scans:
		d.Caps = append(d.Caps, "indexes users")
	case h.users != nil:
		d.Caps = append(d.Caps, "finds users by reading every record")
	}
	if _, ok := h.st.(store.Pruner); ok {
		d.Caps = append(d.Caps, "prunes expired sessions")
	}
	if _, ok := h.st.(store.Locker); ok {
		d.Caps = append(d.Caps, "locks sessions")
	}
	if h.idx != nil {
		d.Index = h.indexView(h.idx.get(h.waitIdx))
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(r.Context(), storeTimeout)
	if err := h.m.Ping(ctx); err != nil {
		d.PingErr = err.Error()
	}
	cancel()
	d.PingTook = time.Since(start)
	if h.rec != nil {
		hist := h.rec.history(h.now())
		d.Anomalies, d.Failures, d.Warnings, d.Measured = hist.Anomalies, hist.Failures, hist.Warnings, hist.Measured
		first := time.Unix(hist.Minutes[0].at*60, 0)
		counts := func(label, class string, f func(m *minute) int) series {
			s := series{Label: label, Class: class, Start: first, Values: make([]float64, len(hist.Minutes))}
			for i := range hist.Minutes {
				s.Values[i] = float64(f(&hist.Minutes[i]))
			}
			return s
		}
		d.Charts = []series{
			counts("Sessions created per minute", "created", func(m *minute) int { return m.created }),
			counts("Sessions regenerated per minute", "regenerated", func(m *minute) int { return m.regenerated }),
			counts("Sessions destroyed per minute", "destroyed", func(m *minute) int { return m.destroyed }),
			counts("Sessions expired per minute", "expired", func(m *minute) int { return m.expired }),
		}
		d.Latency = series{Label: "Store latency per minute (mean of every call)", Class: "latency", Unit: "ms", Start: first, Wide: true, Values: make([]float64, len(hist.Minutes))}
		var hour [opsKnown]opStat
		for i := range hist.Minutes {
			var all opStat
			for j, s := range hist.Minutes[i].ops {
				all.add(s)
				hour[j].add(s)
			}
			d.Latency.Values[i] = float64(all.avg().Microseconds()) / 1000
		}
		for j, s := range hour {
			if s.n > 0 {
				d.Ops = append(d.Ops, opRow{Op: ops[j], Calls: s.n, Errors: s.errors, Avg: s.avg(), Max: s.max})
			}
		}
	}
	h.render(w, r, http.StatusOK, "overview", "overview", "Overview", d)
}

// ---- sessions list ------------------------------------------------------------

// listData is the sessions list's Data.
type listData struct {
	Client bool
	NoList bool
	Index  indexView
	Rows   []sessionRow
	Next   string // cursor of the next page, or ""
	First  bool   // this is the first page
}

// sessionRow is one session in a table.
type sessionRow struct {
	Hash       string // the store key; links and forms carry it, pages show its prefix
	UserID     string
	Created    time.Time
	LastSeen   time.Time
	Ends       time.Time
	IP         string
	Device     string
	Size       int // -1: unknown
	Remembered bool
	Anomaly    string // the reason of a recent anomaly, or ""
}

func (h *handler) sessionsPage(w http.ResponseWriter, r *http.Request) {
	d := listData{Client: h.client, NoList: h.lister == nil && !h.client, First: true}
	if h.idx == nil {
		h.render(w, r, http.StatusOK, "sessions", "sessions", "Sessions", d)
		return
	}
	var c *cursor
	if s := r.URL.Query().Get("after"); s != "" {
		cur, err := parseCursor(s)
		if err != nil {
			h.message(w, r, http.StatusBadRequest, "Bad request", "This page link is malformed.")
			return
		}
		c, d.First = &cur, false
	}
	st := h.idx.get(h.waitIdx)
	d.Index = h.indexView(st)
	if st.snap != nil {
		entries, next := st.snap.page(c, h.pageSize)
		hist := h.history()
		for i := range entries {
			d.Rows = append(d.Rows, h.entryRow(&entries[i], hist))
		}
		if next != nil {
			d.Next = next.String()
		}
	}
	h.render(w, r, http.StatusOK, "sessions", "sessions", "Sessions", d)
}

// history returns the recorder's last hour, or nil without a recorder.
func (h *handler) history() *history {
	if h.rec == nil {
		return nil
	}
	hist := h.rec.history(h.now())
	return &hist
}

func (h *handler) entryRow(e *indexEntry, hist *history) sessionRow {
	row := sessionRow{
		Hash: e.hash(), UserID: e.user, Size: int(e.size), Remembered: e.remembered,
		Created: time.Unix(0, e.created), LastSeen: time.Unix(0, e.lastSeen), Ends: time.Unix(0, e.ends),
	}
	if hist != nil {
		if a, ok := hist.anomalyOf(row.Hash); ok {
			row.Anomaly = a.Reason
		}
	}
	return row
}

func (h *handler) recordRow(key string, rec store.Record, hist *history) sessionRow {
	row := sessionRow{
		Hash: key, UserID: rec.UserID, Created: rec.Created, LastSeen: rec.LastSeen, Ends: h.ends(rec),
		IP: rec.IP, Device: parseDevice(rec.UserAgent).String(), Size: store.Size(rec.Values), Remembered: isRemembered(rec.Values),
	}
	if hist != nil {
		if a, ok := hist.anomalyOf(key); ok {
			row.Anomaly = a.Reason
		}
	}
	return row
}

// ---- users --------------------------------------------------------------------

// usersData is the users page's Data.
type usersData struct {
	Query      string
	Client     bool
	CanLogout  bool // "log out everywhere" works on this store
	Remember   bool // it revokes remember-me tokens too
	Searched   bool
	Sessions   []sessionRow
	More       int    // sessions of the user not listed
	Source     string // where the user's sessions came from
	LookupErr  string
	NoLookup   bool // the store can neither index nor list users
	Index      indexView
	HasIndex   bool
	Users      []userCount
	NextUser   string
	FirstUsers bool
}

func (h *handler) usersPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	user := strings.TrimSpace(q.Get("q"))
	d := usersData{
		Query: user, Client: h.client, Remember: h.o.Remember != nil, HasIndex: h.idx != nil,
		CanLogout: h.users != nil || h.client, NoLookup: h.users == nil && h.idx == nil && !h.client,
		FirstUsers: q.Get("after") == "",
	}
	if user != "" && !h.client && !d.NoLookup {
		d.Searched = true
		rows, more, source, err := h.userSessions(r.Context(), user)
		switch {
		case errors.Is(err, errIndexNotReady):
			d.LookupErr = "The dashboard is still reading the store to find this user’s sessions: reload in a moment."
		case err != nil:
			h.storeFailed(w, r, "listing the sessions of a user", err)
			return
		}
		d.Sessions, d.More, d.Source = rows, more, source
	}
	if h.idx != nil {
		st := h.idx.get(h.waitIdx)
		d.Index = h.indexView(st)
		if st.snap != nil {
			d.Users, d.NextUser = st.snap.usersPage(user, q.Get("after"), h.pageSize)
		}
	}
	h.render(w, r, http.StatusOK, "users", "users", "Users", d)
}

// errIndexNotReady: the user's sessions can only be found in an index that
// is still being built.
var errIndexNotReady = errors.New("admin: index not ready")

// userSessions returns the live sessions of user, most recently seen
// first, each read from the store (at most the page size of them; the
// second result is how many more there are), and says where the list came
// from. A store with a user index is asked directly; the file store (whose
// lookup reads every record) and stores that can only list are looked up in
// the dashboard's index, unless the recorder saw the user gain or lose a
// session since the index was listed (or there is no recorder to tell):
// then the store is asked, however slowly.
func (h *handler) userSessions(ctx context.Context, user string) ([]sessionRow, int, string, error) {
	keys, source, err := h.userKeys(ctx, user)
	if err != nil {
		return nil, 0, "", err
	}
	more := max(len(keys)-h.pageSize, 0)
	keys = keys[:len(keys)-more]
	hist := h.history()
	rows := make([]sessionRow, 0, len(keys))
	now := h.now()
	for _, key := range keys {
		rec, ok, err := h.load(ctx, key)
		if err != nil {
			return nil, 0, "", err
		}
		if !ok || rec.UserID != user || !h.ends(rec).After(now) {
			continue // ended, or changed hands, since it was listed
		}
		rows = append(rows, h.recordRow(key, rec, hist))
	}
	slices.SortStableFunc(rows, func(a, b sessionRow) int { return b.LastSeen.Compare(a.LastSeen) })
	return rows, more, source, nil
}

// userKeys returns the keys of user's sessions, most recently seen first,
// from the store's user index or the dashboard's index (see userSessions),
// and says which.
func (h *handler) userKeys(ctx context.Context, user string) ([]string, string, error) {
	var keys []string
	source := "the store’s user index"
	useIndex := h.idx != nil && (h.users == nil || (h.scans && h.rec != nil))
	if useIndex {
		st := h.idx.get(h.waitIdx)
		switch {
		case st.snap == nil && h.users == nil:
			return nil, "", errIndexNotReady
		case st.snap == nil:
			useIndex = false
		case h.rec != nil && h.rec.userChanged(user, st.snap.started):
			h.idx.invalidate()
			useIndex = h.users == nil
		}
		if useIndex {
			for _, e := range st.snap.sessionsOf(user) {
				keys = append(keys, e.hash())
			}
			source = "the dashboard’s index of " + st.snap.built.UTC().Format("15:04:05") + ", each session read again from the store"
		}
	}
	if !useIndex {
		ctx, cancel := context.WithTimeout(ctx, storeTimeout)
		infos, err := h.m.SessionsOf(ctx, user)
		cancel()
		if err != nil {
			return nil, "", err
		}
		for _, in := range infos {
			keys = append(keys, in.Hash)
		}
	}
	return keys, source, nil
}

// load reads one live session (tombstones count as missing).
func (h *handler) load(ctx context.Context, key string) (store.Record, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	rec, ok, err := h.st.Load(ctx, key)
	if err != nil {
		return rec, false, err
	}
	if _, gone := rec.Values[store.GoneField]; gone {
		return store.Record{}, false, nil
	}
	return rec, ok, nil
}

// ---- one session ----------------------------------------------------------------

// sessionData is the session page's Data.
type sessionData struct {
	Row        sessionRow
	UserAgent  string
	Keys       []keyRow
	AnomalyAt  time.Time
	AnomalyWhy string
	Remember   bool // revoking revokes the remember-me token too
}

// keyRow is one key of a session.
type keyRow struct {
	Name     string
	Size     int
	Reserved bool   // sesame's own (CSRF token, flash, remember-me selector)
	Shown    bool   // the value is shown
	Value    string // the value, when shown
}

func (h *handler) sessionPage(w http.ResponseWriter, r *http.Request) {
	hash := r.PathValue("hash")
	if h.client {
		h.message(w, r, http.StatusNotFound, "Not available",
			"This store keeps each session in its browser’s cookies: the dashboard cannot read a session it is not sent.")
		return
	}
	if !store.ValidKey(hash) {
		h.notFound(w, r, "This is not a session’s hash.")
		return
	}
	rec, ok, err := h.load(r.Context(), hash)
	if err != nil {
		h.storeFailed(w, r, "reading a session", err)
		return
	}
	if !ok || !h.ends(rec).After(h.now()) {
		h.notFound(w, r, "No live session has this hash: it ended, or never existed.")
		return
	}
	hist := h.history()
	d := sessionData{Row: h.recordRow(hash, rec, hist), UserAgent: cut(rec.UserAgent, maxUA), Remember: h.o.Remember != nil}
	if hist != nil {
		if a, ok := hist.anomalyOf(hash); ok {
			d.AnomalyAt, d.AnomalyWhy = a.At, a.Reason
		}
	}
	for k, v := range rec.Values {
		kr := keyRow{Name: k, Size: len(k) + len(v), Reserved: strings.HasPrefix(k, "__")}
		if !kr.Reserved && h.show.shows(k) {
			kr.Shown, kr.Value = true, showValue(v)
		}
		d.Keys = append(d.Keys, kr)
	}
	slices.SortFunc(d.Keys, func(a, b keyRow) int {
		if a.Reserved != b.Reserved {
			if a.Reserved {
				return 1
			}
			return -1
		}
		return strings.Compare(a.Name, b.Name)
	})
	h.render(w, r, http.StatusOK, "session", "sessions", "Session "+hash[:shortLen]+"…", d)
}

// showValue formats a stored JSON value for the page, indented when it is
// an object or array, and cut to maxShownValue bytes.
func showValue(v []byte) string {
	var buf bytes.Buffer
	if len(v) > 0 && (v[0] == '{' || v[0] == '[') && json.Indent(&buf, v, "", "  ") == nil {
		v = buf.Bytes()
	}
	return cut(string(v), maxShownValue)
}

// ---- actions --------------------------------------------------------------------

// revoke ends one session: its record is deleted from the store, and its
// remember-me token revoked with it (Options.Remember). The user's browser
// is a guest on its next request.
func (h *handler) revoke(w http.ResponseWriter, r *http.Request) {
	hash := r.PathValue("hash")
	if h.client {
		h.message(w, r, http.StatusBadRequest, "Not available",
			"This store keeps each session in its browser’s cookies: end a user’s sessions with “Log out everywhere”.")
		return
	}
	if !store.ValidKey(hash) {
		h.notFound(w, r, "This is not a session’s hash.")
		return
	}
	back := h.returnTo(r, "/sessions")
	rec, ok, err := h.load(r.Context(), hash)
	if err != nil {
		h.storeFailed(w, r, "reading the session to revoke", err)
		return
	}
	if !ok {
		h.log.InfoContext(r.Context(), "admin: session to revoke had already ended", "who", who(r), "session", hash[:shortLen])
		http.Redirect(w, r, withQuery(back, "done", "gone", "s", hash[:shortLen]), http.StatusSeeOther)
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), storeTimeout)
	defer cancel()
	if err := h.st.Delete(ctx, hash); err != nil {
		h.storeFailed(w, r, "revoking a session", err)
		return
	}
	tokens := 0
	if v, ok := rec.Values[remember.SessionKey]; ok && h.o.Remember != nil {
		var sel string
		if json.Unmarshal(v, &sel) == nil {
			if err := h.o.Remember.RevokeSelector(ctx, sel); err != nil {
				h.log.ErrorContext(r.Context(), "admin: revoking the session's remember-me token", "who", who(r), "session", hash[:shortLen], "error", err)
			} else {
				tokens = 1
			}
		}
	}
	if h.rec != nil {
		h.rec.revoked(rec.UserID, 1)
	}
	if h.idx != nil {
		h.idx.invalidate()
	}
	h.log.InfoContext(r.Context(), "admin: session revoked", "who", who(r), "session", hash[:shortLen],
		"user", rec.UserID, "remember_tokens", tokens)
	if h.o.OnRevoke != nil {
		h.o.OnRevoke(ctx, Revocation{Who: who(r), UserID: rec.UserID, Hashes: []string{hash}, Tokens: tokens})
	}
	http.Redirect(w, r, withQuery(back, "done", "revoked", "s", hash[:shortLen], "t", strconv.Itoa(tokens)), http.StatusSeeOther)
}

// logoutEverywhere ends every session of a user (Manager.LogoutEverywhere)
// and revokes their remember-me tokens.
func (h *handler) logoutEverywhere(w http.ResponseWriter, r *http.Request) {
	user := r.PostFormValue("user")
	if user == "" {
		h.message(w, r, http.StatusBadRequest, "Bad request", "Which user? The form named none.")
		return
	}
	if !h.client && h.users == nil {
		h.message(w, r, http.StatusBadRequest, "Not available",
			"This store keeps no index of users’ sessions, so it cannot end all of a user’s sessions at once: revoke them one by one.")
		return
	}
	var hashes []string
	if !h.client {
		// The sessions about to end, for OnRevoke; best effort.
		hashes, _, _ = h.userKeys(r.Context(), user)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), storeTimeout)
	defer cancel()
	n, err := h.m.LogoutEverywhere(ctx, user)
	if err != nil {
		h.storeFailed(w, r, "logging a user out everywhere", err)
		return
	}
	tokens := 0
	if h.o.Remember != nil {
		if tokens, err = h.o.Remember.RevokeUser(ctx, user); err != nil {
			h.storeFailed(w, r, "revoking a user’s remember-me tokens", err)
			return
		}
	}
	if h.rec != nil {
		h.rec.touchUser(user)
	}
	if h.idx != nil {
		h.idx.invalidate()
	}
	h.log.InfoContext(r.Context(), "admin: user logged out everywhere", "who", who(r), "user", user,
		"sessions", n, "remember_tokens", tokens)
	if h.o.OnRevoke != nil {
		h.o.OnRevoke(ctx, Revocation{Who: who(r), UserID: user, Hashes: hashes, Everywhere: true, Tokens: tokens})
	}
	http.Redirect(w, r, withQuery(h.o.Path+"/users?q="+url.QueryEscape(user), "done", "logout", "n", strconv.Itoa(n), "t", strconv.Itoa(tokens)), http.StatusSeeOther)
}

// returnTo returns the page an action goes back to: the form's "return"
// field when it names a page of the dashboard, else def (under the
// dashboard's path). An action can never redirect elsewhere.
func (h *handler) returnTo(r *http.Request, def string) string {
	ret := r.PostFormValue("return")
	u, err := url.Parse(ret)
	if ret == "" || err != nil || u.Scheme != "" || u.Host != "" || u.User != nil ||
		strings.Contains(ret, "\\") || strings.Contains(ret, "//") ||
		(u.Path != h.o.Path+"/" && !strings.HasPrefix(u.Path, h.o.Path+"/")) {
		return h.o.Path + def
	}
	// Keep the page's own query (a search, a cursor), not a previous notice.
	q := u.Query()
	for _, k := range []string{"done", "n", "t", "s"} {
		q.Del(k)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// withQuery adds key, value pairs to the query of a local URL.
func withQuery(u string, kv ...string) string {
	sep := "?"
	if strings.Contains(u, "?") {
		sep = "&"
	}
	var b strings.Builder
	b.WriteString(u)
	for i := 0; i+1 < len(kv); i += 2 {
		b.WriteString(sep + url.QueryEscape(kv[i]) + "=" + url.QueryEscape(kv[i+1]))
		sep = "&"
	}
	return b.String()
}

// ---- formatting -------------------------------------------------------------------

// ago says how long ago t was (or how long until it comes).
func ago(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := time.Since(t)
	if d < 0 {
		return "in " + span(-d)
	}
	if d < time.Second {
		return "just now"
	}
	return span(d) + " ago"
}

// span prints a duration in its two largest units.
func span(d time.Duration) string {
	switch {
	case d < time.Minute:
		return strconv.Itoa(int(d/time.Second)) + " s"
	case d < time.Hour:
		return strconv.Itoa(int(d/time.Minute)) + " min"
	case d < 48*time.Hour:
		hrs, mins := int(d/time.Hour), int(d%time.Hour/time.Minute)
		if mins == 0 {
			return strconv.Itoa(hrs) + " h"
		}
		return strconv.Itoa(hrs) + " h " + strconv.Itoa(mins) + " min"
	}
	return strconv.Itoa(int(d/(24*time.Hour))) + " days"
}

// formatBytes prints a size in B, KB or MB (powers of 1024).
func formatBytes(n any) string {
	var v int64
	switch x := n.(type) {
	case int:
		v = int64(x)
	case int64:
		v = x
	}
	switch {
	case v < 0:
		return "?"
	case v < 1024:
		return strconv.FormatInt(v, 10) + " B"
	case v < 1<<20:
		return strconv.FormatFloat(float64(v)/1024, 'f', 1, 64) + " KB"
	}
	return strconv.FormatFloat(float64(v)/(1<<20), 'f', 1, 64) + " MB"
}

// formatMS prints a duration in milliseconds.
func formatMS(d time.Duration) string {
	return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 2, 64) + " ms"
}
