// Package sesame is HTTP sessions for net/http: a session ID in a cookie, the
// data on the server, and none of the ways sessions usually go wrong.
//
// # Quick start
//
//	m, err := sesame.New(sesame.Config{Store: memstore.New()})
//	if err != nil {
//		log.Fatal(err)
//	}
//	mux := http.NewServeMux()
//	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
//		s := sesame.From(r)
//		n, _ := s.Increment("views", 1)
//		fmt.Fprintf(w, "%d views\n", n)
//	})
//	log.Fatal(http.ListenAndServe(":8080", m.Handler(mux)))
//
// # What a request costs
//
// [Manager.Handler] gives each request a lazy [Session]. The store is read on
// the session's first use; a request that never touches its session costs no
// store I/O and sends no cookie. Reading costs one store round trip and
// writing one more. An unchanged session is only touched (its expiry
// extended) once a share of the idle timeout has passed ([Config.TouchShare]),
// and a new session is stored only once something is put in it, so crawlers
// leave no records behind.
//
// # No lost updates
//
// A request's changes are committed as a change set (keys set, keys deleted,
// counters incremented, cleared) that the store applies atomically to the
// latest stored record. Two concurrent requests that set different keys keep
// both; two that call [Session.Increment] add both amounts. A change set for a
// session that was destroyed or regenerated in the meantime is dropped, so a
// slow request can never bring back a session after logout.
//
// # Typed values
//
// Values are stored as JSON, one document per key, and read back into your
// own types with [Get] and [GetOr]. Nothing needs registering, and nothing a
// client could have touched is ever decoded with gob.
//
// # Secure by default
//
// The zero [Config] sends a "__Host-sid" cookie that is Secure, HttpOnly and
// SameSite=Lax. IDs are 256 bits from crypto/rand, checked for form before
// any store access, never adopted when the server did not issue them, and
// stored only as their SHA-256. Idle and absolute timeouts are enforced by the
// server from stored times. When the store fails, the request gets a 503 from
// [Config.ErrorHandler] and nothing is written back.
//
// # Flash messages
//
// [Session.Flash] sets a message for the next request only, which reads it
// with [Session.Flashes]; [Session.FlashInput] keeps a form's input (minus
// passwords) to refill it after a validation error.
//
// # Stores
//
// Sessions live in a store: memstore (the default), filestore, sqlstore
// (PostgreSQL, MySQL/MariaDB, SQLite), redisstore (single node, Sentinel,
// Cluster) or cookiestore. Each passes the same conformance suite,
// storetest.Run.
package sesame
