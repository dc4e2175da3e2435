//go:build js && wasm

package browser_test

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tether/conn/browser"
	"tether/conn/conntest"
)

// Two channels of one name hear each other, not themselves.
func TestTabBusCarriesFramesToTheOtherTabs(t *testing.T) {
	require.True(t, browser.CanShareTabs(), "Chromium has Web Locks and BroadcastChannel")
	n := name("bus")
	a, err := browser.NewTabBus(n)
	require.NoError(t, err)
	b, err := browser.NewTabBus(n)
	require.NoError(t, err)
	var mu sync.Mutex
	var heardA, heardB []string
	stopA := a.Listen(func(d []byte) { mu.Lock(); heardA = append(heardA, string(d)); mu.Unlock() })
	stopB := b.Listen(func(d []byte) { mu.Lock(); heardB = append(heardB, string(d)); mu.Unlock() })
	defer stopA()
	defer stopB()
	require.NoError(t, a.Post([]byte(`{"t":"one"}`)))
	require.NoError(t, a.Post([]byte(`{"t":"two"}`)))
	conntest.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(heardB) == 2 }, "b did not hear a")
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []string{`{"t":"one"}`, `{"t":"two"}`}, heardB, "in order")
	assert.Empty(t, heardA, "a tab does not hear itself")
}

// One holder of the lock at a time; the next in line gets it when the
// holder resigns, and a withdrawn request never does.
func TestLeaderLockElectsOneAtATime(t *testing.T) {
	lock := browser.LeaderLock{Name: name("leader")}
	var first, second, third atomic.Bool
	resign1 := lock.Campaign(func() { first.Store(true) })
	conntest.Eventually(t, first.Load, "the first campaign was not elected")
	resign2 := lock.Campaign(func() { second.Store(true) })
	resign3 := lock.Campaign(func() { third.Store(true) })
	resign3() // withdrawn while waiting
	assert.False(t, second.Load(), "two leaders at once")
	resign1()
	conntest.Eventually(t, second.Load, "the waiting campaign was not elected when the leader resigned")
	resign2()
	assert.False(t, third.Load(), "a withdrawn campaign was elected")
}
