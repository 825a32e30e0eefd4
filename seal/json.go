package seal

import (
	"encoding/json"
	"fmt"
	"time"
)

// SignJSON signs the JSON encoding of v with [Keyring.Sign]. It returns an
// error if v cannot be encoded or the result would be longer than [MaxLen].
func SignJSON(kr *Keyring, purpose string, v any, expires time.Time) (string, error) {
	msg, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("seal: encoding JSON: %w", err)
	}
	if signedLen(len(msg), expirySeconds(expires)) > MaxLen {
		return "", fmt.Errorf("seal: signing a %d-byte message: %w", len(msg), ErrTooLarge)
	}
	return kr.Sign(purpose, msg, expires), nil
}

// VerifyJSON opens a value made by [SignJSON] and decodes it into a T. A value
// that does not open returns [ErrInvalid]; a value that opens but is not the
// JSON of a T returns a different error (the value is authentic: the type
// changed since it was sealed).
func VerifyJSON[T any](kr *Keyring, purpose, sealed string) (T, Info, error) {
	return openJSON[T](purpose, sealed, kr.Verify)
}

// EncryptJSON encrypts the JSON encoding of v with [Keyring.Encrypt].
func EncryptJSON(kr *Keyring, purpose string, v any, expires time.Time) (string, error) {
	msg, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("seal: encoding JSON: %w", err)
	}
	return kr.Encrypt(purpose, msg, expires)
}

// DecryptJSON opens a value made by [EncryptJSON] and decodes it into a T,
// with the errors of [VerifyJSON].
func DecryptJSON[T any](kr *Keyring, purpose, sealed string) (T, Info, error) {
	return openJSON[T](purpose, sealed, kr.Decrypt)
}

func openJSON[T any](purpose, sealed string, open func(purpose, sealed string) ([]byte, Info, error)) (T, Info, error) {
	var v T
	msg, info, err := open(purpose, sealed)
	if err != nil {
		return v, Info{}, err
	}
	if err := json.Unmarshal(msg, &v); err != nil {
		var zero T
		return zero, Info{}, fmt.Errorf("seal: decoding JSON: %w", err)
	}
	return v, info, nil
}
