//go:build !(js && wasm)

package components_test

import (
	"testing"

	"github.com/maxence-charriere/go-app/v10/pkg/app"
	"github.com/stretchr/testify/require"
)

// load mounts c in a test engine. Natively OnInit runs and OnMount does not.
func load(t *testing.T, c app.Composer) {
	t.Helper()
	e := app.NewTestEngine()
	require.NoError(t, e.Load(c))
	e.ConsumeAll()
}
