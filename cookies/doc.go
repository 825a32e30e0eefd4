// Package cookies writes and reads HTTP cookies safely: plain ones, signed
// ones that cannot be changed, and encrypted ones that cannot be read either.
//
// # Secure by default
//
// The zero [Options] make a cookie that is Secure, HttpOnly, SameSite=Lax,
// for Path "/", host-only, and lasting until the browser closes. Each field
// that loosens this says so in its name (AllowInsecureHTTP, ScriptReadable).
//
// Every cookie is checked by [Validate] before [Write] sends it, and nothing
// is written on error: a name that is not a token; a name and value over 4096
// bytes ([ErrTooLarge]); a value that net/http would silently change; a bad
// Domain or Path; SameSite=None or Partitioned without Secure; a "__Secure-"
// cookie without Secure, or a "__Host-" cookie without Secure, with a Domain
// or with a Path other than "/". Max-Age and Expires are clamped to the 400
// days browsers allow. Prefer a "__Host-" name for anything that identifies a
// user: a sibling subdomain cannot set or shadow it.
//
// # Plain cookies
//
// [Set], [Get] and [Clear] handle cookies that the user may read and change,
// such as a theme preference. Set percent-encodes what a cookie cannot hold,
// so any string survives the round trip and JavaScript's
// decodeURIComponent(document.cookie...) reads it too.
//
// # Signed and encrypted cookies
//
// A [Jar] seals values with a [seal.Keyring]: [Jar.SetSigned] for values that
// may be read but not changed (a user ID in a remember-me cookie),
// [Jar.SetEncrypted] for values that must stay private. The cookie's name is
// the seal's purpose, and its lifetime the seal's expiry, so a value cannot be
// moved to another cookie or used after its time. Reading a value that was
// tampered with, expired, or sealed with a key the Jar does not have gives
// "not present", never the value. Values sealed under an old key are
// re-issued under the current one as they are read.
//
// # Duplicate names
//
// A request can carry several cookies of one name: the same name set for
// several paths, or a cookie "tossed" by a sibling subdomain with
// Domain=.example.com to shadow yours. [Values] returns all of them, in the
// order sent. [Get] returns the first, as browsers put the most specific
// path first; do not trust a plain cookie for anything that matters. The Jar's
// readers try every candidate in order and return the first that opens, so a
// tossed cookie cannot shadow a genuine signed or encrypted one (it cannot
// open: the attacker lacks the key), and the winner is always a value this
// application sealed for this name.
//
// # Chunking
//
// Values over the 4096-byte limit can be split over several cookies, as an
// explicit choice: [SetChunked] writes name=chunks-N and name.1 to name.N,
// [GetChunked] reassembles them and fails closed with [ErrInvalidChunks] on a
// missing chunk, an extra one, or a count above the caller's limit, and
// [ClearChunked] removes them all. Chunked values are meant to be sealed
// first.
//
// # Durations
//
// [ParseDuration] reads lifetimes from configuration the AdonisJS way: "30m",
// "2h", "7d", "2w", "1y" (365.25 days), "2 hours", "1.5h".
//
// # Example
//
//	keys, err := seal.ParseSecrets(os.Getenv("APP_SECRETS"))
//	if err != nil {
//		log.Fatal(err)
//	}
//	remember := cookies.NewJar(keys, cookies.Options{MaxAge: 30 * cookies.Day})
//
//	func login(w http.ResponseWriter, r *http.Request) {
//		if err := remember.SetSigned(w, "__Host-remember", userID); err != nil {
//			http.Error(w, err.Error(), http.StatusInternalServerError)
//			return
//		}
//	}
//
//	func home(w http.ResponseWriter, r *http.Request) {
//		userID, ok := remember.GetSigned(w, r, "__Host-remember")
//		theme, _ := cookies.Get(r, "theme")
//		...
//	}
package cookies
