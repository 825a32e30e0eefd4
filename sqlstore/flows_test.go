package sqlstore

import (
	"testing"

	"github.com/sesamego/sesame/internal/flowtest"
)

// The session manager's flows (HTTP through a cookie jar: races, flashes,
// concurrent requests, devices) on every engine.

func TestFlows(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testEngine) { flowtest.Flows(t, e.open(t, Options{})) })
}

func TestDevices(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testEngine) { flowtest.Devices(t, e.open(t, Options{})) })
}
