//go:build !wasm

package sqlite

import (
	"testing"

	"tether/server/store/storetest"
)

func TestReleasedMigrationsAreNeverEdited(t *testing.T) {
	t.Parallel()
	storetest.ReleasedSteps(t, migrations, []string{
		"3ea1f911ab628a9994578ce272972b13e1a718de0245ce0f6bd2fe15fbaa4d97",
		"cb151c8c4dbed9666b7e104ae4f9ece38440272b3c2f6c4e5f21a29a89f7d899",
		"0a171068d64582f7a419ad23c774149d236b6c2538cf03130a2cb866de904404",
		"9aeefa74b025fd9ee766adc6d0b906d2928d32c5025dd3558777b4131caa5228",
	})
}
