//go:build !redis

package main

import "errors"

// errNoRedis is openRedis's answer in a build without the redis tag.
var errNoRedis = errors.New("this build of the shop has no Redis store: run it with go run -tags redis ./examples/shop")

// openRedis fails: the Redis store is compiled in with -tags redis only.
func (b *backend) openRedis(string, string) error { return errNoRedis }
