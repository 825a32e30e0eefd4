// Package seal protects small values that leave the server, such as cookie
// values, against tampering (signing) or against reading and tampering
// (encryption).
//
// A [Keyring] holds one or more secrets, newest first. The newest secret seals;
// every secret opens, so secrets can be rotated without logging anybody out.
// Keys are derived from each secret with HKDF-SHA256, once, when the keyring is
// built: one key for signing, one for encryption, and a 4-byte key ID that each
// sealed value carries so that opening never has to try every key.
//
// # Signed and encrypted values
//
// [Keyring.Sign] produces a value that anybody can read (it is base64url of
// the message followed by an HMAC-SHA256 tag) but nobody can change.
// [Keyring.Encrypt] produces a value that nobody can read or change; it uses
// XChaCha20-Poly1305, whose 192-bit random nonces are safe for an unlimited
// number of values under one long-lived key.
//
// Every sealed value binds a purpose and an optional expiry. The purpose says
// what the value is for (for a cookie, its name); it is not stored in the
// value, and a value sealed for one purpose never opens for another, so a
// cookie cannot be replayed under another name. A zero expiry means the value
// never expires; otherwise it stops opening at that instant (expiries have a
// resolution of one second and are rounded down).
//
// Opening fails with [ErrInvalid], and only with it, whatever went wrong:
// another purpose, an expired value, an unknown key, a changed, truncated or
// extended value, a signed value given to [Keyring.Decrypt] or the reverse.
// Callers treat it as "no value". Opening never falls back to another format.
//
// # Rotation
//
// To rotate, put a new secret first and keep the old ones after it:
//
//	keys, err := seal.NewKeyring(newSecret, oldSecret)
//
// A value sealed under an old secret still opens, and its [Info] has Stale
// set: re-seal it to move it to the newest key (package cookies does that for
// cookies). Once an old secret is removed, its values stop opening.
//
// # Wire format
//
// A sealed value is one unpadded base64url string (RFC 4648 section 5) of
//
//	header  = version-and-mode (1 byte) || key ID (4 bytes, big-endian) || expiry (uvarint)
//	signed    = header || message || HMAC-SHA256(signing key, P || header || message)
//	encrypted = header || nonce (24 bytes) || XChaCha20-Poly1305(encryption key, nonce, message, ad = P || header)
//
// where P is the purpose prefixed with its length as a uvarint, and expiry is 0
// for none or Unix seconds otherwise. The version-and-mode byte is 0x11 for
// signed values and 0x12 for encrypted ones. A signed value is 42 bytes (56
// characters) longer than its message with an expiry, an encrypted one 50 bytes
// (67 characters). Values longer than [MaxLen] characters are not opened.
//
// # Example
//
//	secret, _ := seal.GenerateSecret() // once; keep it in the environment
//	keys, err := seal.ParseSecrets(os.Getenv("APP_SECRETS"))
//	if err != nil {
//		log.Fatal(err)
//	}
//	v := keys.Sign("user", []byte("42"), time.Now().Add(time.Hour))
//	msg, info, err := keys.Verify("user", v)
//	if err != nil {
//		// tampered, expired or not ours: treat as absent
//	}
//	if info.Stale {
//		// re-seal msg under the newest key
//	}
package seal
