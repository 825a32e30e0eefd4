//go:build race

package main

// raceEnabled reports whether the tests run with -race, so that binaries
// they build reuse the same build cache.
const raceEnabled = true
