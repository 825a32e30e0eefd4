package store

import (
	"fmt"
	"unicode/utf8"
)

// Limits on what a change may carry. They are the same for every store, so an
// app that works on one store works on all of them; [CheckChange] enforces
// them and sesame checks them when a value is put, before anything is
// stored.
const (
	// MaxFieldLen is the longest field name (session key), in bytes.
	MaxFieldLen = 256

	// MaxUserIDLen is the longest user ID, in bytes.
	MaxUserIDLen = 255
)

// CheckField returns an error wrapping [ErrInvalid] unless name can be a
// field (session key) in every store: valid UTF-8 of at most [MaxFieldLen]
// bytes. Without this rule a store that encodes records as JSON would turn
// two invalid keys into one (both become U+FFFD).
func CheckField(name string) error {
	var err error
	switch {
	case len(name) > MaxFieldLen:
		err = textError(fmt.Sprintf("is %d bytes, over the limit of %d", len(name), MaxFieldLen))
	case !utf8.ValidString(name):
		err = textError("is not valid UTF-8")
	}
	if err != nil {
		return fmt.Errorf("%w: key %q %s", ErrInvalid, truncateQuoted(name), err.Error())
	}
	return nil
}

// CheckUserID returns an error wrapping [ErrInvalid] unless id can be a user
// ID in every store: valid UTF-8 of at most [MaxUserIDLen] bytes with no
// control characters (PostgreSQL text cannot hold NUL). The empty ID (no
// user) is valid.
func CheckUserID(id string) error {
	if id == "" {
		return nil
	}
	if err := checkText(id, MaxUserIDLen); err != nil {
		return fmt.Errorf("%w: user ID %q %s", ErrInvalid, truncateQuoted(id), err.Error())
	}
	return nil
}

// CheckChange checks every field name and the user ID in c with
// [CheckField] and [CheckUserID]. Stores call it before any I/O.
func CheckChange(c *Change) error {
	for _, k := range c.Delete {
		if err := CheckField(k); err != nil {
			return err
		}
	}
	for k := range c.Set {
		if err := CheckField(k); err != nil {
			return err
		}
	}
	for k := range c.Incr {
		if err := CheckField(k); err != nil {
			return err
		}
	}
	for k := range c.Push {
		if err := CheckField(k); err != nil {
			return err
		}
	}
	if c.SetUser {
		return CheckUserID(c.UserID)
	}
	return nil
}

type textError string

func (e textError) Error() string { return string(e) }

func checkText(s string, max int) error {
	switch {
	case s == "":
		return textError("is empty")
	case len(s) > max:
		return textError(fmt.Sprintf("is %d bytes, over the limit of %d", len(s), max))
	case !utf8.ValidString(s):
		return textError("is not valid UTF-8")
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return textError("contains a control character")
		}
	}
	return nil
}

// truncateQuoted shortens s for an error message.
func truncateQuoted(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
