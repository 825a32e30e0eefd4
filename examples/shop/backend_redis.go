//go:build redis

package main

import "github.com/sesamego/sesame/redisstore"

// openRedis opens a Redis store with keys under prefix.
func (b *backend) openRedis(target, prefix string) error {
	rs, err := redisstore.Open(target, redisstore.Options{Prefix: prefix})
	if err != nil {
		return err
	}
	b.store = rs
	return nil
}
