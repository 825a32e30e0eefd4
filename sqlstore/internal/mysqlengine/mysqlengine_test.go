package mysqlengine

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

func TestConfig(t *testing.T) {
	tests := []struct {
		name   string
		target string
		check  func(t *testing.T, c *mysql.Config)
	}{
		{"a mysql URL", "mysql://app:s%40cret@db:3307/shop?tls=skip-verify&timeout=3s", func(t *testing.T, c *mysql.Config) {
			if c.User != "app" || c.Passwd != "s@cret" || c.Net != "tcp" || c.Addr != "db:3307" || c.DBName != "shop" ||
				c.TLSConfig != "skip-verify" || c.Timeout != 3*time.Second {
				t.Errorf("got %+v", c)
			}
		}},
		{"a mysql URL without port", "mysql://app@db/shop", func(t *testing.T, c *mysql.Config) {
			if c.Addr != "db:3306" || c.Passwd != "" {
				t.Errorf("got address %q, password %q, want db:3306 and none", c.Addr, c.Passwd)
			}
		}},
		{"a mysql URL with an IPv6 host", "mysql://app@[::1]/shop", func(t *testing.T, c *mysql.Config) {
			if c.Addr != "[::1]:3306" {
				t.Errorf("got address %q, want [::1]:3306", c.Addr)
			}
		}},
		{"a mysql URL without a host", "mysql://app@/shop", func(t *testing.T, c *mysql.Config) {
			if c.Net != "tcp" || c.Addr != "127.0.0.1:3306" {
				t.Errorf("got %s %s, want tcp 127.0.0.1:3306", c.Net, c.Addr)
			}
		}},
		{"a mysql URL over a socket", "mysql://app@/shop?socket=/run/mysqld/mysqld.sock", func(t *testing.T, c *mysql.Config) {
			if c.Net != "unix" || c.Addr != "/run/mysqld/mysqld.sock" || len(c.Params) != 0 {
				t.Errorf("got %s %s, params %v, want the socket", c.Net, c.Addr, c.Params)
			}
		}},
		{"a mysql URL that turns interpolation off", "mysql://app@db/shop?interpolateParams=false", func(t *testing.T, c *mysql.Config) {
			if c.InterpolateParams {
				t.Error("got interpolateParams on, want it off as asked")
			}
		}},
		{"an upper-case scheme", "MySQL://app@db/shop", func(t *testing.T, c *mysql.Config) {
			if c.Addr != "db:3306" || c.DBName != "shop" {
				t.Errorf("got %+v", c)
			}
		}},
		{"a driver DSN", "mysql:root@tcp(127.0.0.1:3306)/test", func(t *testing.T, c *mysql.Config) {
			if c.User != "root" || c.Addr != "127.0.0.1:3306" || c.DBName != "test" {
				t.Errorf("got %+v", c)
			}
		}},
		{"a driver DSN that turns interpolation off", "mysql:root@tcp(h)/test?interpolateParams=false", func(t *testing.T, c *mysql.Config) {
			if c.InterpolateParams {
				t.Error("got interpolateParams on, want it off as asked")
			}
		}},
		{"a mysql URL that turns multi-statements off", "mysql://app@db/shop?multiStatements=false", func(t *testing.T, c *mysql.Config) {
			if c.MultiStatements {
				t.Error("got multiStatements on, want it off as asked")
			}
		}},
		{"a driver DSN that turns multi-statements off", "mysql:root@tcp(h)/test?multiStatements=false", func(t *testing.T, c *mysql.Config) {
			if c.MultiStatements {
				t.Error("got multiStatements on, want it off as asked")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Config(tt.target)
			if err != nil {
				t.Fatal(err)
			}
			if !c.ParseTime {
				t.Error("got parseTime off, want it on")
			}
			if !strings.Contains(tt.target, "interpolateParams") && !c.InterpolateParams {
				t.Error("got interpolateParams off, want it on by default")
			}
			if !strings.Contains(tt.target, "multiStatements") && !c.MultiStatements {
				t.Error("got multiStatements off, want it on by default")
			}
			tt.check(t, c)
		})
	}
}

func TestConfigRefusesBadTargetsWithoutThePassword(t *testing.T) {
	for _, target := range []string{
		"mysql://app:hunter2@db:port/shop",
		"mysql://app:hunter2@db/shop?parseTime=maybe",
		"mysql:app:hunter2@tcp(db:3306/shop",
	} {
		_, err := Config(target)
		if err == nil {
			t.Errorf("%s: got no error", target)
			continue
		}
		if !strings.HasPrefix(err.Error(), "sqlstore: bad MySQL address: ") || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("got %q, want a sqlstore error that does not repeat the password", err)
		}
	}
}

func TestErrors(t *testing.T) {
	wrap := func(n uint16) error { return fmt.Errorf("exec: %w", &mysql.MySQLError{Number: n, Message: "m"}) }
	tests := []struct {
		name                               string
		err                                error
		conflict, lost, dup, answer, maybe bool
	}{
		{"a deadlock", wrap(1213), true, false, false, true, false},
		{"a duplicate key", wrap(1062), false, false, true, true, false},
		{"a server shutting down", wrap(1053), false, true, false, true, true},
		{"a killed connection", wrap(1927), false, true, false, true, true},
		{"an interrupted query", wrap(1317), false, false, false, true, true},
		{"a syntax error", wrap(1064), false, false, false, true, false},
		{"the driver's broken connection", fmt.Errorf("x: %w", mysql.ErrInvalidConn), false, true, false, false, false},
		{"an error of no driver", errors.New("other"), false, false, false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			maybe, answered := answer(tt.err)
			got := []bool{conflict(tt.err), connLost(tt.err), duplicate(tt.err), answered, maybe}
			want := []bool{tt.conflict, tt.lost, tt.dup, tt.answer, tt.maybe}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("conflict, conn lost, duplicate, answer, maybe applied: got %v, want %v", got, want)
			}
		})
	}
}
