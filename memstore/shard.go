package memstore

import (
	"sync"
	"time"

	"github.com/sesamego/sesame/store"
)

// entry is one record in a shard, linked into the shard's list in the order
// of the writes.
type entry struct {
	key        string
	rec        store.Record // rec.Values and its slices are never modified once stored
	size       int          // store.Size(rec.Values)
	prev, next *entry
}

// lock is a session lock (see store.Locker).
type lock struct {
	token   string
	expires time.Time
}

// shard is one lock's worth of a store.
type shard struct {
	mu    sync.RWMutex
	m     map[string]*entry
	list  entry // sentinel: list.next is the least recently written entry
	bytes int64
	users map[string]map[string]struct{} // user ID to keys; no "" user
	locks map[string]lock

	maxRecords int
	maxBytes   int64
}

func (sh *shard) init(maxRecords int, maxBytes int64) {
	sh.m = make(map[string]*entry)
	sh.list.prev, sh.list.next = &sh.list, &sh.list
	sh.users = make(map[string]map[string]struct{})
	sh.locks = make(map[string]lock)
	sh.maxRecords, sh.maxBytes = maxRecords, maxBytes
}

// oldest returns the least recently written entry, or nil.
func (sh *shard) oldest() *entry {
	if sh.list.next == &sh.list {
		return nil
	}
	return sh.list.next
}

// pushNewest links e as the most recently written entry.
func (sh *shard) pushNewest(e *entry) {
	e.prev, e.next = sh.list.prev, &sh.list
	e.prev.next = e
	sh.list.prev = e
}

// unlink takes e out of the list.
func (sh *shard) unlink(e *entry) {
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next = nil, nil
}

// remove deletes e from the shard and its indexes.
func (sh *shard) remove(e *entry) {
	sh.unlink(e)
	delete(sh.m, e.key)
	sh.bytes -= int64(e.size)
	sh.unindex(e.rec.UserID, e.key)
}

func (sh *shard) index(userID, key string) {
	if userID == "" {
		return
	}
	keys := sh.users[userID]
	if keys == nil {
		keys = make(map[string]struct{}, 1)
		sh.users[userID] = keys
	}
	keys[key] = struct{}{}
}

func (sh *shard) unindex(userID, key string) {
	keys := sh.users[userID]
	if keys == nil {
		return
	}
	delete(keys, key)
	if len(keys) == 0 {
		delete(sh.users, userID)
	}
}
