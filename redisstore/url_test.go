package redisstore

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sesamego/sesame/internal/redistest"
	"github.com/sesamego/sesame/store"
)

func TestNewClient(t *testing.T) {
	tests := []struct {
		name  string
		url   string
		check func(t *testing.T, c redis.UniversalClient)
	}{
		{"single node with a database", "redis://user:secret@10.0.0.1:6380/3?dial_timeout=2s", func(t *testing.T, c redis.UniversalClient) {
			o := c.(*redis.Client).Options()
			if o.Addr != "10.0.0.1:6380" || o.DB != 3 || o.Username != "user" || o.Password != "secret" || o.DialTimeout != 2*time.Second {
				t.Errorf("options = %s %d %s %s %v", o.Addr, o.DB, o.Username, o.Password, o.DialTimeout)
			}
		}},
		{"TLS", "rediss://h:6379", func(t *testing.T, c redis.UniversalClient) {
			if c.(*redis.Client).Options().TLSConfig == nil {
				t.Error("no TLS config")
			}
		}},
		{"unix socket", "unix:///run/redis.sock?db=2", func(t *testing.T, c redis.UniversalClient) {
			o := c.(*redis.Client).Options()
			if o.Network != "unix" || o.Addr != "/run/redis.sock" || o.DB != 2 {
				t.Errorf("options = %s %s %d", o.Network, o.Addr, o.DB)
			}
		}},
		{"cluster", "redis+cluster://:pw@h1:7000,h2:7001,h3:7002?read_timeout=1s", func(t *testing.T, c redis.UniversalClient) {
			o := c.(*redis.ClusterClient).Options()
			if !slices.Equal(o.Addrs, []string{"h1:7000", "h2:7001", "h3:7002"}) || o.Password != "pw" || o.ReadTimeout != time.Second {
				t.Errorf("options = %v %q %v", o.Addrs, o.Password, o.ReadTimeout)
			}
		}},
		{"cluster with one seed", "redis+cluster://h1:7000", func(t *testing.T, c redis.UniversalClient) {
			if o := c.(*redis.ClusterClient).Options(); !slices.Equal(o.Addrs, []string{"h1:7000"}) {
				t.Errorf("addrs = %v", o.Addrs)
			}
		}},
		{"cluster over TLS", "rediss+cluster://h1:7000,h2:7001", func(t *testing.T, c redis.UniversalClient) {
			if o := c.(*redis.ClusterClient).Options(); o.TLSConfig == nil || len(o.Addrs) != 2 {
				t.Errorf("options = %v %v", o.Addrs, o.TLSConfig)
			}
		}},
		{"sentinel", "redis+sentinel://s1:26379,s2:26379/1?master_name=main&password=pw", func(t *testing.T, c redis.UniversalClient) {
			if _, ok := c.(*redis.Client); !ok {
				t.Errorf("client is a %T", c)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewClient(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			tt.check(t, c)
		})
	}

	bad := []struct{ name, url string }{
		{"no scheme", "localhost:6379"},
		{"unknown scheme", "http://localhost"},
		{"empty cluster host", "redis+cluster://h1:1,,h2:2"},
		{"sentinel without master", "redis+sentinel://s1:26379"},
		{"bad database", "redis://h:1/x"},
		{"malformed with a password", "redis://user:se cret@h:99999999/%zz"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewClient(tt.url)
			if err == nil {
				c.Close()
				t.Fatal("no error")
			}
			if strings.Contains(err.Error(), "se cret") || !strings.HasPrefix(err.Error(), "redisstore: ") {
				t.Errorf("error %q", err)
			}
		})
	}
}

func TestOpen(t *testing.T) {
	addr := redistest.Addr(t)
	prefix := redistest.Prefix(t, redistest.NewClient(t))
	s, err := Open("redis://"+addr+"/0", Options{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	key := mustCreate(t, s, store.Change{Set: values("a", "1")})
	mustLoad(t, s, key)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Load(ctx, key); err == nil {
		t.Error("Load works after Close of a Store made by Open")
	}

	cs, err := Open("redis+cluster://"+strings.Join(redistest.SharedCluster(t), ","), Options{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	key = mustCreate(t, cs, store.Change{Set: values("a", "1")})
	mustLoad(t, cs, key)
	if err := cs.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
}
