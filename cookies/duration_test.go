package cookies_test

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/sesamego/sesame/cookies"
)

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"500ms", 500 * time.Millisecond},
		{"30s", 30 * time.Second},
		{"30m", 30 * time.Minute},
		{"2h", 2 * time.Hour},
		{"7d", 7 * 24 * time.Hour},
		{"2w", 14 * 24 * time.Hour},
		{"1y", 8766 * time.Hour},
		{"2y", 2 * 8766 * time.Hour},
		{"1.5h", 90 * time.Minute},
		{".5h", 30 * time.Minute},
		{"1.h", time.Hour},
		{"0.25d", 6 * time.Hour},
		{"1.5y", 13149 * time.Hour},
		{"30 mins", 30 * time.Minute},
		{"2 hours", 2 * time.Hour},
		{"7 days", 7 * 24 * time.Hour},
		{"1 year", 8766 * time.Hour},
		{"1 week", 7 * 24 * time.Hour},
		{"3 weeks", 21 * 24 * time.Hour},
		{"45 seconds", 45 * time.Second},
		{"1 sec", time.Second},
		{"10 msecs", 10 * time.Millisecond},
		{"2 hrs", 2 * time.Hour},
		{"1 minute", time.Minute},
		{"250 milliseconds", 250 * time.Millisecond},
		{"2H", 2 * time.Hour},
		{"7 Days", 7 * 24 * time.Hour},
		{"1M", time.Minute},
		{"  2h  ", 2 * time.Hour},
		{"+5s", 5 * time.Second},
		{"1h30m", 90 * time.Minute},
		{"1h 30m", 90 * time.Minute},
		{"1d12h", 36 * time.Hour},
		{"1 day 12 hours", 36 * time.Hour},
		{"2h45m30.5s", 2*time.Hour + 45*time.Minute + 30500*time.Millisecond},
		{"300ms", 300 * time.Millisecond},
		{"1us", time.Microsecond},
		{"1µs", time.Microsecond},
		{"1μs", time.Microsecond},
		{"1ns", time.Nanosecond},
		{"0.000000001s", time.Nanosecond},
		{"0h1m", time.Minute},
		{"292y", 292 * 8766 * time.Hour},
		{"2562047h", 2562047 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := cookies.ParseDuration(tt.in)
			if err != nil || got != tt.want {
				t.Errorf("got (%v, %v), want %v", got, err, tt.want)
			}
		})
	}
}

func TestParseDurationAgreesWithTimeParseDuration(t *testing.T) {
	for _, s := range []string{"1h2m3s", "1.5h", "300ms", "2h45m", "1.000000001s", "3.14159s", "4m0.5s", "1h0m0.000000001s"} {
		want, err := time.ParseDuration(s)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := cookies.ParseDuration(s); err != nil || got != want {
			t.Errorf("%q: got (%v, %v), want %v as time.ParseDuration", s, got, err, want)
		}
	}
}

func TestParseDurationErrors(t *testing.T) {
	tests := []struct {
		in      string
		wantMsg string
	}{
		{"", "empty"},
		{"   ", "empty"},
		{"0", "zero"},
		{"0s", "not positive"},
		{"0.0000000001s", "not positive"},
		{"-1h", "negative"},
		{"-0", "negative"},
		{"+", "no number"},
		{"500", "missing unit"},
		{"1.5", "missing unit"},
		{"1h30", "missing unit"},
		{"h", "expected a number"},
		{"abc", "expected a number"},
		{".", "expected a number"},
		{"1x", "unknown unit \"x\""},
		{"1 fortnight", "unknown unit"},
		{"1mo", "unknown unit"},
		{"1h-30m", "expected a number"},
		{"1,5h", "missing unit"},
		{"293y", "too long"},
		{"9223372036854775808ns", "too long"},
		{"99999999999999999999h", "too long"},
		{"2562048h", "too long"},
		{"200y200y", "too long"},
		{"1\th", "missing unit"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := cookies.ParseDuration(tt.in)
			if err == nil {
				t.Fatalf("got %v, want an error", got)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "cookies: invalid duration ") || !strings.Contains(msg, tt.wantMsg) {
				t.Errorf("got error %q, want one containing %q", msg, tt.wantMsg)
			}
			if got != 0 {
				t.Errorf("got %v alongside the error, want 0", got)
			}
		})
	}
}

func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"500ms", "1.5h", "30 mins", "7d", "1y", "1h30m", "0", "", "-1s", "1µs", "292y", "9223372036854775807ns"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := cookies.ParseDuration(s)
		if err == nil && d <= 0 {
			t.Fatalf("got %v and no error for %q, want a positive duration", d, s)
		}
		if err != nil && d != 0 {
			t.Fatalf("got %v alongside error %v", d, err)
		}
		// Whatever Go accepts and finds positive, so do we, and equally up to
		// Go's float rounding of fractions (a nanosecond per fraction). Near
		// the top of the range that rounding may also decide overflow.
		want, goErr := time.ParseDuration(s)
		if goErr != nil || want <= 0 || s[0] == '-' || want > math.MaxInt64-1000 {
			return
		}
		tolerance := time.Duration(strings.Count(s, "."))
		if err != nil || d < want-tolerance || d > want+tolerance {
			t.Fatalf("%q: got (%v, %v), want %v as time.ParseDuration", s, d, err, want)
		}
	})
}
