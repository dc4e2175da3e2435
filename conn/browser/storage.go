//go:build js && wasm

package browser

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/hack-pad/safejs"

	"tether/conn"
)

// StorageKeyPrefix starts the localStorage key of every snapshot.
const StorageKeyPrefix = "tether.v1.snapshot."

// Storage keeps the service's snapshot (the outbox and the last seq of each
// room) in localStorage, so a reload or a closed tab loses nothing. The key
// names the user: people sharing a browser (a demo, a family laptop) never
// send each other's messages.
type Storage struct {
	// Key is the localStorage key; StorageKeyFor(user) gives the usual one.
	Key string
}

var _ conn.Storage = Storage{}

// StorageKeyFor is the key of user's snapshot.
func StorageKeyFor(user string) string { return StorageKeyPrefix + user }

// Load reads the snapshot; a missing one is empty, a corrupt one is an
// error (the service then starts empty and overwrites it).
func (s Storage) Load() (conn.Snapshot, error) {
	ls, err := localStorage()
	if err != nil {
		return conn.Snapshot{}, err
	}
	v, err := ls.Call("getItem", s.Key)
	if err != nil {
		return conn.Snapshot{}, fmt.Errorf("localStorage.getItem: %w", err)
	}
	if v.IsNull() || v.IsUndefined() {
		return conn.Snapshot{}, nil
	}
	text, err := v.String()
	if err != nil {
		return conn.Snapshot{}, err
	}
	var snap conn.Snapshot
	if err := json.Unmarshal([]byte(text), &snap); err != nil {
		return conn.Snapshot{}, fmt.Errorf("the stored snapshot %s is not valid: %w", s.Key, err)
	}
	return snap, nil
}

// Save writes the snapshot. A full storage (QuotaExceededError) is an error
// the service logs; the outbox stays in memory.
func (s Storage) Save(snap conn.Snapshot) error {
	ls, err := localStorage()
	if err != nil {
		return err
	}
	data, err := json.Marshal(snap)
	if err != nil {
		return err
	}
	if _, err := ls.Call("setItem", s.Key, string(data)); err != nil {
		return fmt.Errorf("localStorage.setItem: %w", err)
	}
	return nil
}

// localStorage returns window.localStorage. Reading it throws where storage
// is blocked (some private modes, sandboxed frames): that is an error, not a
// panic.
func localStorage() (safejs.Value, error) {
	return webStorage("localStorage")
}

func webStorage(name string) (safejs.Value, error) {
	win, err := global("window")
	if err != nil {
		return safejs.Undefined(), err
	}
	ls, err := win.Get(name)
	if err != nil {
		return safejs.Undefined(), fmt.Errorf("%s: %w", name, err)
	}
	if ls.IsNull() || ls.IsUndefined() {
		return safejs.Undefined(), errors.New(name + " is not available")
	}
	return ls, nil
}
