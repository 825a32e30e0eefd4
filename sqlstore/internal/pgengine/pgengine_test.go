package pgengine

import (
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

func TestErrors(t *testing.T) {
	wrap := func(code string) error { return fmt.Errorf("exec: %w", &pgconn.PgError{Code: code}) }
	tests := []struct {
		name                                     string
		err                                      error
		conflict, lost, dup, sent, answer, maybe bool
	}{
		{"a deadlock", wrap("40P01"), true, false, false, true, true, false},
		{"a serialisation failure", wrap("40001"), true, false, false, true, true, false},
		{"a unique violation", wrap("23505"), false, false, true, true, true, false},
		{"a connection exception", wrap("08006"), false, true, false, true, true, true},
		{"an administrator's shutdown", wrap("57P01"), false, true, false, true, true, true},
		{"a crash shutdown", wrap("57P02"), false, true, false, true, true, true},
		{"a server that cannot connect now", wrap("57P03"), false, true, false, true, true, true},
		{"a canceled query", wrap("57014"), false, false, false, true, true, false},
		{"another operator intervention", wrap("57P04"), false, false, false, true, true, true},
		{"a syntax error", wrap("42601"), false, false, false, true, true, false},
		{"a failed connect", &pgconn.ConnectError{}, false, false, false, false, false, false},
		{"an error of no driver", errors.New("other"), false, false, false, true, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			maybe, answered := answer(tt.err)
			got := []bool{conflict(tt.err), connLost(tt.err), duplicate(tt.err), !notSent(tt.err), answered, maybe}
			want := []bool{tt.conflict, tt.lost, tt.dup, tt.sent, tt.answer, tt.maybe}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("conflict, conn lost, duplicate, sent, answer, maybe applied: got %v, want %v", got, want)
			}
		})
	}
}
