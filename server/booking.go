//go:build !wasm

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"
	"unicode"

	"tether/conn/wire"
	"tether/server/auth"
	"tether/server/bookings"
	"tether/server/node"
	"tether/server/store"
)

// bookingUsage is the help of tether booking.
const bookingUsage = `usage: tether booking create -customer NAME -provider NAME -at TIME [flags]

Creates a booking in the server's store and prints its two invite links: the
customer's opens the booking's chat, the provider's the inbox of all the
provider's bookings. It needs TETHER_SECRET, the server's, and the same
-data or -store as the server.

flags:
`

// runBooking runs "tether booking …" and returns the exit code.
func runBooking(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "create" {
		fmt.Fprint(stderr, bookingUsage)
		return 2
	}
	fs := flag.NewFlagSet("tether booking create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, bookingUsage); fs.PrintDefaults() }
	var (
		dataDir, storeURL, origin  string
		id, customer, customerID   string
		provider, providerID, kind string
		title, at, place           string
		duration                   time.Duration
	)
	fs.StringVar(&dataDir, "data", "./data", "folder of the server's data (its SQLite database)")
	fs.StringVar(&storeURL, "store", "", "postgres://… URL of the server's PostgreSQL database; empty uses SQLite in -data")
	fs.StringVar(&origin, "public-origin", "", "the origin the links start with (e.g. https://chat.example.com); empty prints paths")
	fs.StringVar(&id, "id", "", "the booking's id, also its room (a letter or digit, then letters, digits, '.', '_', '-'); empty makes one")
	fs.StringVar(&customer, "customer", "", "the customer's name (required)")
	fs.StringVar(&customerID, "customer-id", "", "the customer's user id; empty derives one from the name")
	fs.StringVar(&provider, "provider", "", "the provider's name: the therapist or the place (required)")
	fs.StringVar(&providerID, "provider-id", "", "the provider's user id, the same for all of the provider's bookings; empty derives one from the name")
	fs.StringVar(&kind, "kind", wire.RoleTherapist, "the provider's kind: therapist or place")
	fs.StringVar(&title, "title", "Appointment", "what is booked")
	fs.StringVar(&at, "at", "", "when it starts, RFC 3339 (2026-12-03T10:00:00Z or 2026-12-03T11:00:00+01:00; required)")
	fs.DurationVar(&duration, "duration", time.Hour, "how long it lasts")
	fs.StringVar(&place, "place", "", "where it takes place")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "tether booking create: unexpected arguments: %v\n", fs.Args())
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintln(stderr, "tether booking create:", err)
		return 1
	}
	if customer == "" || provider == "" || at == "" {
		return fail(errors.New("-customer, -provider and -at are required"))
	}
	starts, err := time.Parse(time.RFC3339, at)
	if err != nil {
		return fail(errors.New("-at must be an RFC 3339 time such as 2026-12-03T10:00:00Z"))
	}
	if duration <= 0 {
		return fail(errors.New("-duration must be positive"))
	}
	if customerID == "" {
		customerID = "c-" + slug(customer)
	}
	if providerID == "" {
		providerID = "p-" + slug(provider)
	}
	secret, err := auth.SecretFromEnv()
	if err != nil {
		return fail(err)
	}
	origins := strings.Split(origin, ",")
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	st, _, err := node.OpenStore(dataDir, storeURL, node.StoreHooks{}, log)
	if err != nil {
		return fail(fmt.Errorf("failed to open the store: %w", err))
	}
	defer st.Close()
	bs, ok := st.(store.Bookings)
	if !ok {
		return fail(errors.New("this store keeps no bookings"))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	view, links, created, err := bookings.New(bs, secret, strings.TrimSpace(origins[0])).Create(ctx, bookings.Request{
		ID:       id,
		Customer: bookings.Party{ID: customerID, Name: customer},
		Provider: bookings.Party{ID: providerID, Name: provider, Kind: kind},
		Title:    title, Place: place,
		StartsAt: starts.Format(time.RFC3339), EndsAt: starts.Add(duration).Format(time.RFC3339),
	})
	if err != nil {
		return fail(err)
	}
	verb := "created"
	if !created {
		verb = "exists already"
	}
	fmt.Fprintf(stdout, "booking %s %s: %s, %s with %s, %s–%s\n", view.ID, verb, view.Title, customer, provider, view.StartsAt, view.EndsAt)
	fmt.Fprintf(stdout, "customer: %s\n", links.Customer)
	fmt.Fprintf(stdout, "provider: %s\n", links.Provider)
	return 0
}

// slug is name as part of a user id: lower-case letters and digits, the
// rest as single dashes.
func slug(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}
