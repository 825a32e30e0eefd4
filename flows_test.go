package sesame_test

import (
	"testing"

	"github.com/sesamego/sesame/filestore"
	"github.com/sesamego/sesame/internal/flowtest"
	"github.com/sesamego/sesame/memstore"
)

// The manager's flows on the stores of this module; redisstore and
// sqlstore run the same flows (internal/flowtest) against their servers.

func TestFlowsOnMemstore(t *testing.T) { flowtest.Flows(t, memstore.New()) }

func TestFlowsOnFilestore(t *testing.T) {
	fs, err := filestore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	flowtest.Flows(t, fs)
}

func TestDevicesOnMemstore(t *testing.T) { flowtest.Devices(t, memstore.New()) }
