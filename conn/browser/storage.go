//go:build js && wasm

package browser

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hack-pad/safejs"

	"tether/conn"
)

// StorageKeyPrefix starts the localStorage key of every snapshot.
const StorageKeyPrefix = "tether.v1.snapshot."

// Storage keeps the service's snapshot (the outbox and the last seq of each
// room) in localStorage, so a reload or a closed tab loses nothing. The key
// names the user: people sharing a browser (a demo, a family laptop) never
// send each other's messages.
//
// The tabs of one user share the key. With Tab set, each tab writes its own
// entries there and keeps the others' (conn.SharedSnapshot): a message
// typed offline in one tab survives another tab's save. A tab holds a Web
// Lock for its life; a tab that starts takes over the entries of tabs that
// hold none (they ended), and a running tab waits on the lock of each other
// tab with entries and takes them over when that tab ends (Adopt), so a
// message typed offline in a tab closed before it could send is sent by
// another. Without Web Locks nobody is known alive: a tab that starts takes
// over every entry of its scope, and the server's dedupe by client id keeps
// each message once.
type Storage struct {
	// Key is the localStorage key; StorageKeyFor(user) gives the usual one.
	Key string
	// Tab names this page among the tabs sharing Key (TabID); "" keeps the
	// snapshot whole, as if this page were the only one.
	Tab string
	// Mine says which rooms' entries this page may take over (its scope:
	// a token may not reach every room); nil takes every room.
	Mine func(room string) bool
	// Adopt, when set, receives the entries taken over from a tab that
	// ended while this one runs (Service.Adopt).
	Adopt func([]conn.OutboxEntry)

	w *tabWatch
}

// tabWatch is what a Storage with a Tab remembers between calls: the tabs
// whose end it waits for.
type tabWatch struct {
	mu       sync.Mutex
	watching map[string]bool
}

var _ conn.Storage = Storage{}

// StorageKeyFor is the key of user's snapshot.
func StorageKeyFor(user string) string { return StorageKeyPrefix + user }

// NewTabStorage returns the storage of user's snapshot for this tab.
func NewTabStorage(user string, mine func(room string) bool, adopt func([]conn.OutboxEntry)) Storage {
	return Storage{Key: StorageKeyFor(user), Tab: TabID(), Mine: mine, Adopt: adopt, w: &tabWatch{watching: map[string]bool{}}}
}

// tabKey keeps the tab's id in sessionStorage: a reload is the same tab.
const tabKey = "tether.v1.tab"

// tabLockPrefix starts the name of the Web Lock each tab holds for its life.
const tabLockPrefix = "tether.v1.tab."

var (
	tabOnce sync.Once
	tabID   string
)

// TabID is this tab's id: kept across reloads of the tab, new for a tab
// duplicated from it (whose copied id another live tab already holds).
func TabID() string {
	tabOnce.Do(func() {
		ss, err := webStorage("sessionStorage")
		if err == nil {
			if v, err := ss.Call("getItem", tabKey); err == nil && !v.IsNull() && !v.IsUndefined() {
				tabID, _ = v.String()
			}
		}
		if tabID != "" {
			if held, ok := heldLocks(); ok && held[tabLockPrefix+tabID] {
				tabID = "" // a duplicated tab: its original holds the id
			}
		}
		if tabID == "" {
			raw := make([]byte, 8)
			rand.Read(raw)
			tabID = hex.EncodeToString(raw)
			if err == nil {
				ss.Call("setItem", tabKey, tabID)
			}
		}
		holdTabLock(tabID)
	})
	return tabID
}

// Load reads the snapshot: with a Tab, this tab's entries and those it
// takes over; a missing one is empty, a corrupt one is an error (the
// service then starts empty and overwrites it).
func (s Storage) Load() (conn.Snapshot, error) {
	shared, err := s.read()
	if err != nil {
		return conn.Snapshot{}, err
	}
	if s.Tab == "" {
		snap := conn.Snapshot{LastSeq: shared.LastSeq}
		for _, e := range shared.Outbox {
			snap.Outbox = append(snap.Outbox, e.OutboxEntry)
		}
		return snap, nil
	}
	held, locks := heldLocks()
	shared, taken := shared.TakeOver(s.Tab, func(e conn.SharedEntry) bool {
		ended := e.Tab == "" || !locks || !held[tabLockPrefix+e.Tab]
		return ended && s.mine(e.Room)
	})
	if len(taken) > 0 {
		// Unchanged, the snapshot is left as it is: a page opening with
		// nothing to take over encodes nothing on its way to connect.
		if err := s.write(shared); err != nil {
			return conn.Snapshot{}, err
		}
	}
	s.watchOwners(shared)
	return conn.Snapshot{Outbox: shared.Own(s.Tab), LastSeq: shared.LastSeq}, nil
}

// Save writes the snapshot: with a Tab, this tab's entries replace its own
// and the other tabs' stay. A full storage (QuotaExceededError) is an
// error the service logs; the outbox stays in memory.
func (s Storage) Save(snap conn.Snapshot) error {
	shared := conn.SharedSnapshot{}
	if s.Tab != "" {
		// A corrupt snapshot is replaced; the others' entries in it are
		// beyond reading anyway.
		shared, _ = s.read()
	}
	shared = shared.With(s.Tab, snap)
	if err := s.write(shared); err != nil {
		return err
	}
	if s.Tab != "" {
		s.watchOwners(shared)
	}
	return nil
}

func (s Storage) mine(room string) bool { return s.Mine == nil || s.Mine(room) }

func (s Storage) read() (conn.SharedSnapshot, error) {
	ls, err := localStorage()
	if err != nil {
		return conn.SharedSnapshot{}, err
	}
	v, err := ls.Call("getItem", s.Key)
	if err != nil {
		return conn.SharedSnapshot{}, fmt.Errorf("failed to call localStorage.getItem: %w", err)
	}
	if v.IsNull() || v.IsUndefined() {
		return conn.SharedSnapshot{}, nil
	}
	text, err := v.String()
	if err != nil {
		return conn.SharedSnapshot{}, err
	}
	var shared conn.SharedSnapshot
	if err := json.Unmarshal([]byte(text), &shared); err != nil {
		return conn.SharedSnapshot{}, fmt.Errorf("failed to decode the stored snapshot %s: %w", s.Key, err)
	}
	return shared, nil
}

func (s Storage) write(shared conn.SharedSnapshot) error {
	ls, err := localStorage()
	if err != nil {
		return err
	}
	data, err := json.Marshal(shared)
	if err != nil {
		return err
	}
	if _, err := ls.Call("setItem", s.Key, string(data)); err != nil {
		return fmt.Errorf("failed to call localStorage.setItem: %w", err)
	}
	return nil
}

// watchOwners waits for the end of each other tab that owns entries, to
// take them over then.
func (s Storage) watchOwners(shared conn.SharedSnapshot) {
	if s.w == nil {
		return
	}
	for _, owner := range shared.Owners(s.Tab) {
		s.w.mu.Lock()
		if s.w.watching[owner] {
			s.w.mu.Unlock()
			continue
		}
		s.w.watching[owner] = true
		s.w.mu.Unlock()
		if !whenLockFree(tabLockPrefix+owner, func() { s.takeFrom(owner) }) {
			return // no Web Locks: taken over at the next start
		}
	}
}

// takeFrom takes over the entries of a tab that ended.
func (s Storage) takeFrom(owner string) {
	s.w.mu.Lock()
	delete(s.w.watching, owner) // a reload of that tab may own entries again
	s.w.mu.Unlock()
	shared, err := s.read()
	if err != nil {
		return
	}
	shared, taken := shared.TakeOver(s.Tab, func(e conn.SharedEntry) bool { return e.Tab == owner && s.mine(e.Room) })
	if len(taken) == 0 || s.write(shared) != nil {
		return
	}
	if s.Adopt != nil {
		s.Adopt(taken)
	}
}

// locks returns navigator.locks, where the browser has Web Locks.
func locks() (safejs.Value, bool) {
	nav, err := global("navigator")
	if err != nil {
		return safejs.Undefined(), false
	}
	l, err := nav.Get("locks")
	if err != nil || l.IsUndefined() || l.IsNull() {
		return safejs.Undefined(), false
	}
	return l, true
}

// heldLocks names the Web Locks held in this origin now; ok is false
// without Web Locks.
func heldLocks() (held map[string]bool, ok bool) {
	l, ok := locks()
	if !ok {
		return nil, false
	}
	p, err := l.Call("query")
	if err != nil {
		return nil, false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	state, err := Await(ctx, p)
	if err != nil {
		return nil, false
	}
	list, err := state.Get("held")
	if err != nil {
		return nil, false
	}
	n, err := list.Length()
	if err != nil {
		return nil, false
	}
	held = make(map[string]bool, n)
	for i := range n {
		lock, err := list.Index(i)
		if err != nil {
			continue
		}
		if name, err := stringProp(lock, "name"); err == nil {
			held[name] = true
		}
	}
	return held, true
}

// holdTabLock holds the tab's Web Lock for the life of the page: the
// browser lets it go when the tab closes, crashes or is discarded.
func holdTabLock(id string) {
	l, ok := locks()
	if !ok {
		return
	}
	promise, err := global("Promise")
	if err != nil {
		return
	}
	// Never released: they live as long as the page.
	executor, err := safejs.FuncOf(func(safejs.Value, []safejs.Value) any { return nil })
	if err != nil {
		return
	}
	never, err := promise.New(executor)
	if err != nil {
		return
	}
	hold, err := safejs.FuncOf(func(safejs.Value, []safejs.Value) any { return never })
	if err != nil {
		return
	}
	l.Call("request", tabLockPrefix+id, hold)
}

// whenLockFree calls fn once the lock name is free (its holder ended),
// taking it for no longer than that; false without Web Locks.
func whenLockFree(name string, fn func()) bool {
	l, ok := locks()
	if !ok {
		return false
	}
	var granted safejs.Func
	granted, err := safejs.FuncOf(func(safejs.Value, []safejs.Value) any {
		granted.Release()
		go fn()
		return nil
	})
	if err != nil {
		return false
	}
	if _, err := l.Call("request", name, granted); err != nil {
		granted.Release()
		return false
	}
	return true
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
		return safejs.Undefined(), fmt.Errorf("failed to get window.%s: %w", name, err)
	}
	if ls.IsNull() || ls.IsUndefined() {
		return safejs.Undefined(), errors.New(name + " is not available")
	}
	return ls, nil
}
