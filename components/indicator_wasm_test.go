//go:build js && wasm

package components_test

import (
	"testing"

	"github.com/maxence-charriere/go-app/v10/pkg/app"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tether/components"
	"tether/conn"
	"tether/conn/conntest"
)

// These run in headless Chromium (make test-wasm): OnMount runs, the
// component lives in the real DOM, and status changes reach it through
// Watch and ctx.Dispatch.

// mount loads c into the document's body through a go-app test engine, and
// removes it when the test ends. The test harness's own elements stay.
func mount(t *testing.T, c app.Composer) (app.TestEngine, app.Value) {
	t.Helper()
	doc := app.Window().Get("document")
	body := doc.Get("body")
	// go-app mounts its root in place of the body's first element.
	body.Call("insertBefore", doc.Call("createElement", "div"), body.Get("firstElementChild"))
	e := app.NewTestEngine()
	require.NoError(t, e.Load(c))
	e.ConsumeAll()
	root := body.Get("firstElementChild")
	t.Cleanup(func() { root.Call("remove") })
	return e, root
}

// load is mount for the tests shared with the native build.
func load(t *testing.T, c app.Composer) {
	t.Helper()
	mount(t, c)
}

// query finds selector in the document: each test removes what it mounted,
// so only the current test's elements are there.
func query(t *testing.T, selector string) app.Value {
	t.Helper()
	el := app.Window().Get("document").Call("querySelector", selector)
	require.True(t, el.Truthy(), "no element matches %s", selector)
	return el
}

func attr(t *testing.T, selector, name string) string {
	t.Helper()
	return query(t, selector).Call("getAttribute", name).String()
}

func TestIndicatorInTheDOMFollowsTheSource(t *testing.T) {
	src := conntest.NewStatusSource(conn.InitialStatus())
	e, _ := mount(t, &components.ConnectionStatusIndicator{Source: src})

	const ind = `[data-testid="connection-indicator"]`
	assert.Equal(t, "disconnected", attr(t, ind, "data-quality"))
	assert.Equal(t, "none", attr(t, ind, "data-transport"))
	assert.Equal(t, "Connecting", attr(t, ind, "aria-label"))
	require.Equal(t, 1, src.Watchers(), "the mounted indicator watches its source")

	src.SetStatus(excellent)
	e.ConsumeAll()
	assert.Equal(t, "excellent", attr(t, ind, "data-quality"))
	assert.Equal(t, "websocket", attr(t, ind, "data-transport"))
	assert.Equal(t, "42 ms", query(t, `[data-testid="latency"]`).Get("textContent").String())
	dots := app.Window().Get("document").Call("querySelectorAll", `[data-testid="quality-dots"] > *`)
	require.Equal(t, 3, dots.Length())
	for i := 0; i < 3; i++ {
		assert.Equal(t, "true", dots.Index(i).Call("getAttribute", "data-on").String(), "dot %d", i)
	}

	src.SetStatus(poorPolling)
	e.ConsumeAll()
	assert.Equal(t, "poor", attr(t, ind, "data-quality"))
	assert.Equal(t, "polling", attr(t, ind, "data-transport"))
	assert.Equal(t, "Limited connection (polling), poor, 640 ms", attr(t, ind, "aria-label"))
	assert.Equal(t, "true", dots.Index(0).Call("getAttribute", "data-on").String())
	assert.Equal(t, "false", dots.Index(1).Call("getAttribute", "data-on").String())
}

func TestReconnectButtonForcesAReconnect(t *testing.T) {
	src := conntest.NewStatusSource(reconnecting)
	e, _ := mount(t, &components.ConnectionStatusIndicator{Source: src})

	query(t, `[data-testid="reconnect-button"]`).Call("click")
	e.ConsumeAll()
	assert.Equal(t, 1, src.ForcedReconnects())
}

func TestDismountStopsWatching(t *testing.T) {
	src := conntest.NewStatusSource(excellent)
	e, _ := mount(t, &components.ConnectionStatusIndicator{Source: src})
	require.Equal(t, 1, src.Watchers())

	// Replacing the root dismounts the indicator: it must let go of the
	// source, or a long-lived service would keep calling a dead component.
	require.NoError(t, e.Load(&components.ChatHeader{Title: "other", Source: components.FixedStatus(good)}))
	e.ConsumeAll()
	assert.Equal(t, 0, src.Watchers())
}
