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

// readThroughLoad is a memstore that sesame reads through Load, as it reads
// every store that does not keep flat records: it embeds the memstore, so
// the memstore's LoadFlat is promoted but not its own.
type readThroughLoad struct{ *memstore.Store }

func TestFlowsOnMemstoreReadThroughLoad(t *testing.T) {
	flowtest.Flows(t, readThroughLoad{memstore.New()})
}

func TestFlowsOnFilestore(t *testing.T) {
	fs, err := filestore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	flowtest.Flows(t, fs)
}

func TestDevicesOnMemstore(t *testing.T) { flowtest.Devices(t, memstore.New()) }
