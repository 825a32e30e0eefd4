package memstore

import (
	"bytes"
	"sync"
	"time"

	"github.com/sesamego/sesame/internal/flat"
)

// lock is a session lock (see store.Locker).
type lock struct {
	token   string
	expires time.Time
}

// shard is one lock's worth of a store. Its records are flat records: one
// allocation each, which the garbage collector never scans, and never
// modified once stored.
type shard struct {
	mu     sync.RWMutex
	m      map[bkey]flat.Record
	memory int64                        // counted against maxMemory
	users  map[string]map[bkey]struct{} // user ID to keys; no "" user
	locks  map[bkey]lock

	maxRecords int // 0: no bound
	maxMemory  int64

	_ [64]byte // keeps the locks of neighbouring shards off one cache line
}

func (sh *shard) init(maxRecords int, maxMemory int64) {
	sh.m = make(map[bkey]flat.Record)
	sh.users = make(map[string]map[bkey]struct{})
	sh.locks = make(map[bkey]lock)
	sh.maxRecords, sh.maxMemory = maxRecords, maxMemory
}

// cost is what a record counts against MaxMemory.
func cost(r flat.Record) int64 {
	n := int64(len(r)) + EntryOverhead
	if len(r.UserID()) > 0 {
		n += userOverhead
	}
	return n
}

// put stores rec under k, replacing cur when ok, and keeps the user index
// and the memory count up to date. sh.mu is held.
func (sh *shard) put(k bkey, cur flat.Record, ok bool, rec flat.Record) {
	var oldUser []byte
	if ok {
		sh.memory -= cost(cur)
		oldUser = cur.UserID()
	}
	sh.m[k] = rec
	sh.memory += cost(rec)
	if newUser := rec.UserID(); !bytes.Equal(oldUser, newUser) {
		sh.unindex(oldUser, k)
		sh.index(newUser, k)
	}
}

// remove deletes the record r under k from the shard and its index. sh.mu is
// held.
func (sh *shard) remove(k bkey, r flat.Record) {
	delete(sh.m, k)
	sh.memory -= cost(r)
	sh.unindex(r.UserID(), k)
}

func (sh *shard) index(userID []byte, k bkey) {
	if len(userID) == 0 {
		return
	}
	keys := sh.users[string(userID)]
	if keys == nil {
		keys = make(map[bkey]struct{}, 1)
		// A copy: a slice of the record would keep the record alive.
		sh.users[string(userID)] = keys
	}
	keys[k] = struct{}{}
}

func (sh *shard) unindex(userID []byte, k bkey) {
	if len(userID) == 0 {
		return
	}
	keys := sh.users[string(userID)]
	if keys == nil {
		return
	}
	delete(keys, k)
	if len(keys) == 0 {
		delete(sh.users, string(userID))
	}
}

// over reports whether the shard holds more than its bounds allow.
func (sh *shard) over() bool {
	return sh.memory > sh.maxMemory || (sh.maxRecords > 0 && len(sh.m) > sh.maxRecords)
}
