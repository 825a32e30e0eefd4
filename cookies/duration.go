package cookies

import (
	"errors"
	"fmt"
	"math/bits"
	"strings"
	"time"
	"unicode/utf8"
)

// durationUnits maps each unit name that [ParseDuration] accepts to its
// length. Names are matched without regard to case.
var durationUnits = map[string]time.Duration{
	"ns": time.Nanosecond, "nsec": time.Nanosecond, "nsecs": time.Nanosecond,
	"nanosecond": time.Nanosecond, "nanoseconds": time.Nanosecond,

	"us": time.Microsecond, "µs": time.Microsecond, "μs": time.Microsecond,
	"usec": time.Microsecond, "usecs": time.Microsecond,
	"microsecond": time.Microsecond, "microseconds": time.Microsecond,

	"ms": time.Millisecond, "msec": time.Millisecond, "msecs": time.Millisecond,
	"millisecond": time.Millisecond, "milliseconds": time.Millisecond,

	"s": time.Second, "sec": time.Second, "secs": time.Second,
	"second": time.Second, "seconds": time.Second,

	"m": time.Minute, "min": time.Minute, "mins": time.Minute,
	"minute": time.Minute, "minutes": time.Minute,

	"h": time.Hour, "hr": time.Hour, "hrs": time.Hour,
	"hour": time.Hour, "hours": time.Hour,

	"d": Day, "day": Day, "days": Day,

	"w": Week, "wk": Week, "wks": Week, "week": Week, "weeks": Week,

	"y": Year, "yr": Year, "yrs": Year, "year": Year, "years": Year,
}

// Lengths of the calendar units of [ParseDuration]. They are fixed lengths,
// not calendar arithmetic: a day is always 24 hours.
const (
	Day  = 24 * time.Hour
	Week = 7 * Day
	Year = Day*365 + Day/4 // 365.25 days
)

// ParseDuration parses a positive duration written the way AdonisJS and the
// JavaScript "ms" package write them, as well as every form that
// [time.ParseDuration] accepts:
//
//	"500ms" "30s" "30m" "2h" "7d" "2w" "1y" "1.5h" "1h30m" "1d 12h"
//	"30 mins" "2 hours" "7 days" "1 year"
//
// A duration is one or more terms, each a decimal number (with an optional
// fraction), optional spaces, and a unit: ns, us (µs), ms, s, m, h, d (24
// hours), w (7 days) or y (365.25 days), or a long name such as "sec",
// "secs", "second", "seconds", "min", "hrs", "day", "weeks" or "years". Units
// are matched without regard to case, so "M" is a minute, not a month. A
// leading "+" is allowed.
//
// The empty string, "0", a number without a unit, a negative or zero
// duration, an unknown unit and a duration longer than about 292 years (the
// range of [time.Duration]) are errors: configuration that says "0" should say
// what it means.
func ParseDuration(s string) (time.Duration, error) {
	d, err := parseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("cookies: invalid duration %q: %w", s, err)
	}
	return d, nil
}

func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return 0, errors.New("empty")
	case s == "0":
		return 0, errors.New("zero")
	case s[0] == '-':
		return 0, errors.New("negative")
	case s[0] == '+':
		s = s[1:]
	}
	if s == "" {
		return 0, errors.New("no number")
	}
	var total uint64
	for s != "" {
		// The number.
		i := 0
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
		whole, frac := s[:i], ""
		if i < len(s) && s[i] == '.' {
			j := i + 1
			for j < len(s) && '0' <= s[j] && s[j] <= '9' {
				j++
			}
			frac = s[i+1 : j]
			i = j
		}
		if whole == "" && frac == "" {
			return 0, fmt.Errorf("expected a number at %q", s)
		}
		s = strings.TrimLeft(s[i:], " ")

		// The unit.
		j := 0
		for j < len(s) {
			r, n := utf8.DecodeRuneInString(s[j:])
			if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || r == 'µ' || r == 'μ') {
				break
			}
			j += n
		}
		if j == 0 {
			return 0, fmt.Errorf("missing unit after %q", whole+dotIf(frac)+frac)
		}
		unit, ok := durationUnits[strings.ToLower(s[:j])]
		if !ok {
			return 0, fmt.Errorf("unknown unit %q", s[:j])
		}
		s = strings.TrimLeft(s[j:], " ")

		v, ok := termValue(whole, frac, uint64(unit))
		if !ok || total+v < total || total+v > 1<<63-1 {
			return 0, errors.New("too long")
		}
		total += v
	}
	if total == 0 {
		return 0, errors.New("not positive")
	}
	return time.Duration(total), nil
}

func dotIf(frac string) string {
	if frac != "" {
		return "."
	}
	return ""
}

// termValue returns (whole.frac) * unit in nanoseconds, rounded down, and
// false on overflow. The fraction is computed exactly from its first 18
// digits; later digits are worth less than a nanosecond for every unit.
func termValue(whole, frac string, unit uint64) (uint64, bool) {
	const max = 1<<63 - 1
	var v uint64
	for _, c := range []byte(whole) {
		if v > max/10 {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	if v > max/unit {
		return 0, false
	}
	v *= unit
	var f, scale uint64 = 0, 1
	for _, c := range []byte(frac[:min(len(frac), 18)]) {
		f = f*10 + uint64(c-'0')
		scale *= 10
	}
	hi, lo := bits.Mul64(f, unit)
	q, _ := bits.Div64(hi, lo, scale) // f < scale, so q < unit: no overflow
	if v+q > max {
		return 0, false
	}
	return v + q, true
}
