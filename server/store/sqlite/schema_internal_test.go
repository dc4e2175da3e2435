//go:build !wasm

package sqlite

import (
	"testing"

	"tether/server/store/storetest"
)

func TestReleasedMigrationsAreNeverEdited(t *testing.T) {
	t.Parallel()
	storetest.ReleasedSteps(t, migrations, "testdata/migrations.sha256")
}
