package redisstore

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Open returns a Store on a client made from a URL (see [NewClient]). The
// Store owns that client: [Store.Close] closes it. Open does no I/O; the
// first command connects.
func Open(rawURL string, opts Options) (*Store, error) {
	client, err := NewClient(rawURL)
	if err != nil {
		return nil, err
	}
	s, err := New(client, opts)
	if err != nil {
		client.Close()
		return nil, err
	}
	s.owned = true
	return s, nil
}

// NewClient returns a go-redis client for a URL in one of these forms:
//
//	redis://[user:password@]host:port[/db][?option=value...]   single node
//	rediss://...                                              single node over TLS
//	unix://[user:password@]/path/to/redis.sock[?db=N]           single node on a socket
//	redis+cluster://[user:password@]host:port,host:port,...[?option=value...]
//	rediss+cluster://...                                      Cluster over TLS
//	redis+sentinel://[user:password@]host:port,...[/db]?master_name=NAME[&password=...]
//	rediss+sentinel://...                                     Sentinel over TLS
//
// For a Cluster, the hosts are seed nodes: any reachable one finds the rest.
// For Sentinel, they are the sentinels, the user and password in front of
// them are the sentinels' own, and the master's password is the password
// option. The options are those of go-redis's [redis.ParseURL],
// [redis.ParseClusterURL] and [redis.ParseFailoverURL] (dial_timeout,
// read_timeout, pool_size, ...). Errors never repeat the URL, which may hold a
// password.
func NewClient(rawURL string) (redis.UniversalClient, error) {
	scheme, rest, ok := strings.Cut(rawURL, "://")
	if !ok {
		return nil, errors.New("redisstore: not a URL: missing scheme")
	}
	switch scheme {
	case "redis", "rediss", "unix":
		opt, err := redis.ParseURL(rawURL)
		if err != nil {
			return nil, urlErr(err)
		}
		return redis.NewClient(opt), nil
	case "redis+cluster", "rediss+cluster":
		u, err := multiHostURL(strings.TrimSuffix(scheme, "+cluster"), rest)
		if err != nil {
			return nil, err
		}
		opt, err := redis.ParseClusterURL(u)
		if err != nil {
			return nil, urlErr(err)
		}
		return redis.NewClusterClient(opt), nil
	case "redis+sentinel", "rediss+sentinel":
		u, err := multiHostURL(strings.TrimSuffix(scheme, "+sentinel"), rest)
		if err != nil {
			return nil, err
		}
		opt, err := redis.ParseFailoverURL(u)
		if err != nil {
			return nil, urlErr(err)
		}
		if opt.MasterName == "" {
			return nil, errors.New("redisstore: a redis+sentinel URL needs the master_name option")
		}
		return redis.NewFailoverClient(opt), nil
	}
	return nil, fmt.Errorf("redisstore: unknown URL scheme %q (want redis, rediss, unix, redis+cluster or redis+sentinel)", scheme)
}

// multiHostURL rewrites "h1:p1,h2:p2/path?query" with the given scheme into
// the form go-redis parses: the first host in the authority, the others as
// addr options.
func multiHostURL(scheme, rest string) (string, error) {
	end := strings.IndexAny(rest, "/?")
	if end < 0 {
		end = len(rest)
	}
	authority, tail := rest[:end], rest[end:]
	userinfo, hosts := "", authority
	if i := strings.LastIndex(authority, "@"); i >= 0 {
		userinfo, hosts = authority[:i+1], authority[i+1:]
	}
	list := strings.Split(hosts, ",")
	for _, h := range list {
		if h == "" {
			return "", errors.New("redisstore: URL has an empty host")
		}
	}
	u, err := url.Parse(scheme + "://" + userinfo + list[0] + tail)
	if err != nil {
		return "", errors.New("redisstore: malformed URL")
	}
	if len(list) > 1 {
		q := u.Query()
		for _, h := range list[1:] {
			q.Add("addr", h)
		}
		u.RawQuery = q.Encode()
	}
	return u.String(), nil
}

// urlErr wraps an error of go-redis's URL parsers, dropping the URL that a
// *url.Error repeats (it may hold a password).
func urlErr(err error) error {
	if ue := (*url.Error)(nil); errors.As(err, &ue) {
		return fmt.Errorf("redisstore: malformed URL: %w", ue.Err)
	}
	return fmt.Errorf("redisstore: %w", err)
}
