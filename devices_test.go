package sesame

import (
	"testing"

	"github.com/sesamego/sesame/memstore"
)

func TestDevicesNeedAUserIndex(t *testing.T) {
	m, _ := New(Config{Store: &countingStore{Store: memstore.New()}, Logger: discardLogger()})
	if _, err := m.SessionsOf(t.Context(), "alice"); err == nil {
		t.Error("SessionsOf on a store without a user index succeeded")
	}
}
