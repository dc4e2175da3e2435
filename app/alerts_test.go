package app_test

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tether/app"
	"tether/components"
	"tether/conn/conntest"
)

// fakeNotifier is a browser whose user answers the permission question
// with answer.
type fakeNotifier struct {
	mu         sync.Mutex
	permission string
	answer     string
	asked      int
	pref, set  bool
	hidden     bool
	onVis      func(bool)
	click      func()
	shown      []string // "tag: title: body"
	counts     []int
}

func (f *fakeNotifier) Supported() bool { return true }
func (f *fakeNotifier) Permission() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.permission
}
func (f *fakeNotifier) RequestPermission() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked++
	f.permission = f.answer
	return f.permission
}
func (f *fakeNotifier) Notify(title, body, tag string, onClick func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.shown = append(f.shown, tag+": "+title+": "+body)
	f.click = onClick
}
func (f *fakeNotifier) SetCount(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.counts = append(f.counts, n)
}
func (f *fakeNotifier) Hidden() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hidden
}
func (f *fakeNotifier) WatchVisibility(fn func(bool)) func() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.onVis = fn
	return func() {}
}
func (f *fakeNotifier) Preference() (bool, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.pref, f.set
}
func (f *fakeNotifier) SetPreference(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pref, f.set = on, true
}
func (f *fakeNotifier) setHidden(h bool) {
	f.mu.Lock()
	f.hidden = h
	fn := f.onVis
	f.mu.Unlock()
	fn(h)
}
func (f *fakeNotifier) snapshot() (shown []string, counts []int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.shown), slices.Clone(f.counts)
}

func TestAlerts(t *testing.T) {
	t.Parallel()

	t.Run("off until turned on, and asking only on the toggle", func(t *testing.T) {
		c := parallelChat(t)
		n := &fakeNotifier{permission: "default", answer: "granted"}
		a := app.NewAlerts(n, c.store)
		defer a.Close()
		assert.Equal(t, components.AlertsOff, a.AlertsState())
		states := make(chan string, 4)
		a.WatchAlerts(func(s string) { states <- s })
		a.ToggleAlerts()
		assert.Equal(t, components.AlertsOn, <-states)
		assert.Equal(t, 1, n.asked)
		a.ToggleAlerts()
		assert.Equal(t, components.AlertsOff, <-states)
		a.ToggleAlerts()
		assert.Equal(t, components.AlertsOn, <-states)
		assert.Equal(t, 1, n.asked, "granted once is granted")
	})

	t.Run("a refusal blocks them", func(t *testing.T) {
		c := parallelChat(t)
		n := &fakeNotifier{permission: "default", answer: "denied"}
		a := app.NewAlerts(n, c.store)
		defer a.Close()
		states := make(chan string, 1)
		a.WatchAlerts(func(s string) { states <- s })
		a.ToggleAlerts()
		assert.Equal(t, components.AlertsBlocked, <-states)
	})

	t.Run("hidden, the other party's messages count and notify, one tag per room", func(t *testing.T) {
		c := parallelChat(t)
		n := &fakeNotifier{permission: "granted", pref: true, set: true}
		c.watch("room-1")
		a := app.NewAlerts(n, c.store)
		defer a.Close()
		c.srv.Publish("room-1", "seen while visible")
		c.settle()
		n.setHidden(true)
		c.send("room-1", "mine never alerts")
		c.srv.Publish("room-1", "first while away")
		c.srv.Publish("room-1", "second while away")
		c.settle()
		// The store may tell of both at once: one notification then.
		require.Eventually(t, func() bool {
			_, counts := n.snapshot()
			return len(counts) > 0 && counts[len(counts)-1] == 2
		}, 5*time.Second, time.Millisecond, "the title and badge count what came while hidden")
		shown, _ := n.snapshot()
		require.NotEmpty(t, shown)
		assert.Equal(t, "room-1: "+conntest.Them.Name+": second while away", shown[len(shown)-1], "the room's notification says the latest")
		assert.LessOrEqual(t, len(shown), 2)

		// A click opens the room's chat.
		opened := make(chan string, 1)
		a.SetOpen(func(room string) { opened <- room })
		n.mu.Lock()
		click := n.click
		n.mu.Unlock()
		click()
		assert.Equal(t, "room-1", <-opened)

		n.setHidden(false)
		_, counts := n.snapshot()
		assert.Equal(t, 0, counts[len(counts)-1], "shown: cleared")
	})

	t.Run("turned off, hidden messages still count but raise no notification", func(t *testing.T) {
		c := parallelChat(t)
		n := &fakeNotifier{permission: "granted", pref: false, set: true, hidden: true}
		c.watch("room-1")
		a := app.NewAlerts(n, c.store)
		defer a.Close()
		c.srv.Publish("room-1", "quietly")
		c.settle()
		require.Eventually(t, func() bool { _, counts := n.snapshot(); return len(counts) > 0 }, 5*time.Second, time.Millisecond)
		shown, counts := n.snapshot()
		assert.Empty(t, shown)
		assert.Equal(t, []int{1}, counts)
	})
}
