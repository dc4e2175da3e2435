//go:build !wasm

package main

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tether/server/store/sqlite"
)

// Not parallel: it sets TETHER_SECRET.
func TestBookingCreatePrintsBothLinksOnce(t *testing.T) {
	t.Setenv("TETHER_SECRET", "a secret of at least thirty-two bytes!")
	dir := t.TempDir()
	args := []string{"create", "-data", dir, "-id", "b-42", "-customer", "Ann Lee", "-provider", "Tess", "-kind", "place",
		"-at", "2026-12-03T10:00:00+01:00", "-duration", "90m", "-title", "Sauna", "-public-origin", "https://chat.example.com"}
	var out, errs bytes.Buffer
	require.Equal(t, 0, runBooking(args, &out, &errs), errs.String())
	assert.Regexp(t, `^booking b-42 created: Sauna, Ann Lee with Tess, 2026-12-03T09:00:00Z–2026-12-03T10:30:00Z
customer: https://chat\.example\.com/chat/b-42#invite=[A-Za-z0-9_-]{22}
provider: https://chat\.example\.com/therapist#invite=[A-Za-z0-9_-]{22}
$`, out.String())
	first := out.String()

	// Again: the same links, nothing new.
	out.Reset()
	require.Equal(t, 0, runBooking(args, &out, &errs))
	assert.Equal(t, regexp.MustCompile(`(?m)^customer: .*$`).FindString(first), regexp.MustCompile(`(?m)^customer: .*$`).FindString(out.String()))
	assert.Contains(t, out.String(), "exists already")

	st, err := sqlite.Open(filepath.Join(dir, "tether.db"), sqlite.Options{Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	defer st.Close()
	b, err := st.Booking(context.Background(), "b-42")
	require.NoError(t, err)
	assert.Equal(t, "c-ann-lee", b.Customer.ID)
	assert.Equal(t, "p-tess", b.Provider.ID)
	assert.Equal(t, "place", b.Provider.Role)

	// Bad input: an exit code and a reason, nothing stored.
	for _, bad := range [][]string{
		{"create", "-data", dir, "-customer", "A", "-provider", "B"},
		{"create", "-data", dir, "-customer", "A", "-provider", "B", "-at", "soon"},
		{"create", "-data", dir, "-id", "../x", "-customer", "A", "-provider", "B", "-at", "2026-12-03T10:00:00Z"},
		{"create", "-data", dir, "-id", "b-42", "-customer", "Other", "-provider", "Tess", "-at", "2026-12-03T10:00:00Z"},
	} {
		errs.Reset()
		assert.Equal(t, 1, runBooking(bad, &out, &errs), bad)
		assert.Contains(t, errs.String(), "tether booking create: ", bad)
	}
	b2, err := st.Booking(context.Background(), "b-42")
	require.NoError(t, err)
	assert.Equal(t, b, b2)
}
