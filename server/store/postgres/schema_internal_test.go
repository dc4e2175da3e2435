//go:build !wasm

package postgres

import (
	"testing"

	"tether/server/store/storetest"
)

func TestReleasedMigrationsAreNeverEdited(t *testing.T) {
	t.Parallel()
	storetest.ReleasedSteps(t, migrations, []string{
		"5348f93dc713bb2928834078619be03b22824837e1597f5019ac1caf1b3aabc8",
		"e6d19e800ee8ae002868a606891858bc2375f13e5df7017b3178cb25113288e8",
		"5a80082a8ade2073d8af3bcec665bd267bdda9471625a6aec461647dbcb07bb4",
		"161a50148c2bd3d6754574a5dca669689ed9844a0c0eea4bd9116868a67a4075",
	})
}
