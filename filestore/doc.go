// Package filestore keeps sesame sessions in files, one file per session.
//
// It needs nothing but a directory, survives restarts, and can be shared by
// several processes on one machine, on Linux, the BSDs, macOS and Windows (or
// on a network file system whose flock or LockFileEx works across machines,
// which most do not).
//
//	s, err := filestore.New("/var/lib/myapp/sessions")
//	if err != nil {
//		log.Fatal(err)
//	}
//	// Remove expired sessions now and then, for example from a cron job
//	// or a goroutine the app owns:
//	n, err := s.Prune(ctx)
//
// # Layout
//
// The directory (created with mode 0700) holds up to 256 subdirectories
// (created on first use, also 0700) named by the first byte of the key, and
// each record is the file named by its key:
// dir/3f/3fa2…. A key is 64 lower-case hex characters, the SHA-256 of the
// session ID, checked with [store.ValidKey] before any file is touched, so no
// key can name a path outside the directory, and the files reveal no session
// IDs. Files are created with mode 0600. Next to a record may sit its session
// lock (key.lock) and, briefly, temporary files (.tmp-…), which are never
// taken for records; on Windows each subdirectory also holds the empty file
// that carries its lock (.lock).
//
// A record file holds the record's times, user ID, IP and user agent byte for
// byte, its values as [store.EncodeValues] writes them (values over
// [Options.CompressThreshold] are compressed), and a CRC-32C checksum. A file
// that cannot be read or fails its checksum is reported as an error wrapping
// [store.ErrUnavailable], so sesame fails closed; it never panics. Remove such
// a file with [Store.Delete].
//
// # Atomic writes
//
// Every write goes to a temporary file in the same subdirectory, which is
// synced, then renamed over the record's file, after which the subdirectory
// is synced too. A reader sees the whole old record or the whole new one,
// and a crash (a killed process, a lost machine) leaves one or the other,
// never a torn record. Deletes are synced as well, so a destroyed session
// stays destroyed.
//
// # Locking
//
// A change set is applied by reading the record, merging the change
// ([store.Merge]) and writing the result, under a lock on the record's
// subdirectory: an in-process lock (which a cancelled context stops waiting
// for), then flock(2) on the subdirectory itself, which excludes every other
// process and every other [Store] on the same directory, and is released by
// the kernel if the holder dies. So concurrent change sets never lose each
// other's writes, within a process or across processes. Loads take no lock.
// The locks are striped by subdirectory: two sessions whose keys share their
// first byte wait for each other's writes, which are short.
//
// On Windows the cross-process lock is LockFileEx on a file named ".lock" in
// each subdirectory (Windows locks files, not directories), released like
// flock when the holder closes it or dies. Windows cannot sync directories,
// so there renames and removals rely on the file system's own journal
// (NTFS's), and a rename or removal that meets a file another handle is
// reading is retried for up to half a second.
//
// On the platforms Go supports that have neither (AIX, Solaris and illumos,
// Plan 9, js/wasm and wasip1) only the in-process lock applies: there, use a
// directory from one process and one Store, or two processes' change sets
// may overwrite each other.
//
// # Costs
//
// A Load is a file open and read. An Apply reads, writes and syncs one file
// and syncs its directory: expect a few milliseconds on disks with real
// fsync. [Store.Prune] lists every subdirectory but reads only the files
// whose modification time, set to the record's expiry on every write, has
// passed. [Store.List], [Store.UserSessions] and [Store.DeleteUserSessions]
// read every record file: the file store keeps no index of users, so
// "sessions of a user" costs a scan of all sessions. That is fine for
// thousands of sessions; for millions, use the SQL or Redis store.
//
// # Capabilities
//
// Store implements [store.Store], [store.Pruner], [store.Lister],
// [store.UserIndex] (by scanning, see above), [store.Renamer],
// [store.Locker] (lock files shared by every process using the directory),
// [store.Taker] and [store.TokenStore]: remember-me tokens are files under
// the tokens subdirectory ([TokensDir]), one per token named by the SHA-256
// of its selector, written under a lock shared by every process using the
// directory (so the sesame CLI can revoke a user's tokens while the app
// runs). Expired tokens are never returned; DeleteUserTokens removes them.
// New starts no goroutine; call Prune when it suits the app.
package filestore
