package tabs

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"tether/conn"
	"tether/conn/conntest"
)

func TestTheLeadersServiceSeesTheTabsVisibilityAsOne(t *testing.T) {
	page := conntest.NewEnv()
	page.SetStart(true, false) // the leader's own page is in the background
	env := newSharedEnv(page)
	var mu sync.Mutex
	var heard []conn.EnvEvent
	env.Watch(func(ev conn.EnvEvent) { mu.Lock(); heard = append(heard, ev); mu.Unlock() })
	events := func() []conn.EnvEvent { mu.Lock(); defer mu.Unlock(); return append([]conn.EnvEvent(nil), heard...) }
	t0 := time.Unix(1_000_000, 0)
	assert.False(t, env.Visible())

	env.follower("tab-b", true, t0)
	assert.True(t, env.Visible(), "a follower in front: the visible pace")
	env.page(conn.EnvVisible, t0)
	env.page(conn.EnvHidden, t0)
	assert.True(t, env.Visible(), "still shown in the follower")
	env.follower("tab-b", false, t0)
	assert.False(t, env.Visible())
	assert.Equal(t, []conn.EnvEvent{conn.EnvVisible, conn.EnvHidden}, events(), "only the changes of all the tabs")

	// The page's other events pass as they are.
	env.page(conn.EnvOffline, t0)
	assert.Equal(t, conn.EnvOffline, events()[2])

	// A follower that closed without a word counts as hidden once it is
	// not heard from in time; one that says so again stays.
	env.follower("tab-b", true, t0)
	env.follower("tab-c", true, t0)
	env.follower("tab-c", true, t0.Add(visibleEvery))
	env.update(t0.Add(visibleFor + time.Second))
	assert.True(t, env.Visible(), "tab-c said it again")
	env.update(t0.Add(visibleEvery + visibleFor + time.Second))
	assert.False(t, env.Visible(), "no word from anyone")
}
