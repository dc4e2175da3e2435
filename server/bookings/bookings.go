//go:build !wasm

// Package bookings creates and changes the bookings of contract v2: a
// customer's appointment with a provider (a therapist or a place), whose
// room is their chat, and the two invite links that let each side in. The
// operator API (server/api) and the CLI (tether booking create) share it.
//
// An invite code is derived from the server's secret and the booking (its
// room, side and creation time), so the same booking asked for again
// answers the same links, while the store keeps only each code's SHA-256:
// a copy of the database opens no session.
package bookings

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"tether/conn/wire"
	"tether/server/store"
)

// ErrInvalid wraps what is wrong with a booking request.
var ErrInvalid = errors.New("invalid booking")

// Limits of a booking's fields, in characters.
const (
	maxIDChars    = 128
	maxNameChars  = 100
	maxTitleChars = 200
	maxPlaceChars = 200
)

// Party is a side's user as the API gives it.
type Party struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Kind is the provider's: "therapist" or "place". A customer has none.
	Kind string `json:"kind,omitempty"`
}

// Request is the body of POST /api/bookings.
type Request struct {
	// ID is the booking's id and its room; optional (one is made).
	ID       string `json:"id,omitempty"`
	Customer Party  `json:"customer"`
	Provider Party  `json:"provider"`
	Title    string `json:"title"`
	StartsAt string `json:"starts_at"` // RFC 3339
	EndsAt   string `json:"ends_at"`   // RFC 3339
	Place    string `json:"place"`
}

// View is a booking as the API answers it.
type View struct {
	ID       string `json:"id"`
	Room     string `json:"room"`
	Customer Party  `json:"customer"`
	Provider Party  `json:"provider"`
	Title    string `json:"title"`
	StartsAt string `json:"starts_at"`
	EndsAt   string `json:"ends_at"`
	Place    string `json:"place"`
	Status   string `json:"status"`
	// Revoked lists the sides revoked, empty when none.
	Revoked []store.Participant `json:"revoked"`
}

// Links are the two invite links of a booking.
type Links struct {
	Customer string `json:"customer"`
	Provider string `json:"provider"`
}

// Service creates and changes bookings in a store.
type Service struct {
	store store.Bookings
	key   []byte
	// origin prefixes the links ("https://chat.example.com"); empty, they
	// are paths.
	origin string
	now    func() time.Time
}

// New returns a Service on st. secret is the server's token secret, from
// which the invite codes are derived; origin is the public origin the
// links start with (the first -public-origin), or "" for paths.
func New(st store.Bookings, secret []byte, origin string) *Service {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("tether invite codes v1"))
	return &Service{store: st, key: mac.Sum(nil), origin: strings.TrimSuffix(origin, "/"), now: time.Now}
}

// Store is the store the service keeps its bookings in.
func (s *Service) Store() store.Bookings { return s.store }

// Create stores the booking of req, or finds it when one with the same id
// and details exists (created false); another booking with that id is
// store.ErrConflict, a request that does not hold together ErrInvalid.
func (s *Service) Create(ctx context.Context, req Request) (View, Links, bool, error) {
	b, err := s.validate(req)
	if err != nil {
		return View{}, Links{}, false, err
	}
	b.Created = time.UnixMilli(s.now().UnixMilli())
	b.CustomerInvite = hashCode(s.code(b.Room, store.Customer, b.Created))
	b.ProviderInvite = hashCode(s.code(b.Room, store.Provider, b.Created))
	stored, created, err := s.store.PutBooking(ctx, b)
	if err != nil {
		return View{}, Links{}, false, err
	}
	return ViewOf(stored), s.links(stored), created, nil
}

// Get returns the booking of id and its links.
func (s *Service) Get(ctx context.Context, id string) (View, Links, error) {
	if !wire.ValidRoom(id) {
		return View{}, Links{}, store.ErrNotFound
	}
	b, err := s.store.Booking(ctx, id)
	if err != nil {
		return View{}, Links{}, err
	}
	return ViewOf(b), s.links(b), nil
}

// Cancel turns the booking of id cancelled.
func (s *Service) Cancel(ctx context.Context, id string) (store.Booking, error) {
	if !wire.ValidRoom(id) {
		return store.Booking{}, store.ErrNotFound
	}
	return s.store.CancelBooking(ctx, id)
}

// Revoke revokes side p of the booking of id and returns the booking and
// the ids of the sessions that ended.
func (s *Service) Revoke(ctx context.Context, id string, p store.Participant) (store.Booking, [][]byte, error) {
	if !p.Valid() {
		return store.Booking{}, nil, fmt.Errorf("%w: participant must be customer or provider", ErrInvalid)
	}
	if !wire.ValidRoom(id) {
		return store.Booking{}, nil, store.ErrNotFound
	}
	return s.store.RevokeParticipant(ctx, id, p)
}

// FindInvite returns the booking and side of an invite code.
func (s *Service) FindInvite(ctx context.Context, code string) (store.Booking, store.Participant, error) {
	if code == "" || len(code) > 100 {
		return store.Booking{}, "", store.ErrNotFound
	}
	return s.store.BookingByInvite(ctx, hashCode(code))
}

// ViewOf is b as the API answers it.
func ViewOf(b store.Booking) View {
	v := View{
		ID: b.Room, Room: b.Room,
		Customer: Party{ID: b.Customer.ID, Name: b.Customer.Name},
		Provider: Party{ID: b.Provider.ID, Name: b.Provider.Name, Kind: b.Provider.Role},
		Title:    b.Title, Place: b.Place, Status: b.Status,
		StartsAt: b.StartsAt.UTC().Format(time.RFC3339), EndsAt: b.EndsAt.UTC().Format(time.RFC3339),
		Revoked: []store.Participant{},
	}
	for _, p := range []store.Participant{store.Customer, store.Provider} {
		if b.Revoked(p) {
			v.Revoked = append(v.Revoked, p)
		}
	}
	return v
}

// links are b's invite links; a revoked side's is empty.
func (s *Service) links(b store.Booking) Links {
	var l Links
	if !b.CustomerRevoked {
		l.Customer = s.origin + "/chat/" + b.Room + "#invite=" + s.code(b.Room, store.Customer, b.Created)
	}
	if !b.ProviderRevoked {
		l.Provider = s.origin + "/therapist#invite=" + s.code(b.Room, store.Provider, b.Created)
	}
	return l
}

// code is the invite code of side p of the booking of room created at
// created: 128 bits of an HMAC, in URL-safe base64.
func (s *Service) code(room string, p store.Participant, created time.Time) string {
	mac := hmac.New(sha256.New, s.key)
	fmt.Fprintf(mac, "%s\x00%s\x00%d", room, p, created.UnixMilli())
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil)[:16])
}

// hashCode is what the store keeps of an invite code.
func hashCode(code string) []byte {
	h := sha256.Sum256([]byte(code))
	return h[:]
}

// validate turns req into a booking, or says what is wrong with it.
func (s *Service) validate(req Request) (store.Booking, error) {
	bad := func(format string, args ...any) (store.Booking, error) {
		return store.Booking{}, fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
	}
	room := req.ID
	if room == "" {
		room = newID()
	} else if !wire.ValidRoom(room) {
		return bad("id %q must be a letter or digit followed by up to 63 letters, digits, '.', '_' or '-'", clip(room))
	}
	for _, f := range []struct {
		name, value string
		max         int
	}{
		{"customer.id", req.Customer.ID, maxIDChars}, {"customer.name", req.Customer.Name, maxNameChars},
		{"provider.id", req.Provider.ID, maxIDChars}, {"provider.name", req.Provider.Name, maxNameChars},
		{"title", req.Title, maxTitleChars},
	} {
		if strings.TrimSpace(f.value) == "" {
			return bad("%s is required", f.name)
		}
		if err := text(f.name, f.value, f.max); err != nil {
			return store.Booking{}, err
		}
	}
	if err := text("place", req.Place, maxPlaceChars); err != nil {
		return store.Booking{}, err
	}
	if req.Customer.ID == req.Provider.ID {
		return bad("the customer and the provider must be different users")
	}
	if req.Customer.Kind != "" && req.Customer.Kind != wire.RoleCustomer {
		return bad("customer.kind must be empty or customer")
	}
	kind := req.Provider.Kind
	if kind != wire.RoleTherapist && kind != wire.RolePlace {
		return bad("provider.kind must be therapist or place")
	}
	starts, err := time.Parse(time.RFC3339, req.StartsAt)
	if err != nil {
		return bad("starts_at must be an RFC 3339 time such as 2026-12-03T10:00:00Z")
	}
	ends, err := time.Parse(time.RFC3339, req.EndsAt)
	if err != nil {
		return bad("ends_at must be an RFC 3339 time such as 2026-12-03T11:00:00Z")
	}
	if !ends.After(starts) {
		return bad("ends_at must be after starts_at")
	}
	if ends.Sub(starts) > 7*24*time.Hour {
		return bad("a booking lasts at most 7 days")
	}
	return store.Booking{
		Room:     room,
		Customer: wire.User{ID: req.Customer.ID, Name: req.Customer.Name, Role: wire.RoleCustomer},
		Provider: wire.User{ID: req.Provider.ID, Name: req.Provider.Name, Role: kind},
		Title:    req.Title, Place: req.Place,
		StartsAt: time.UnixMilli(starts.UnixMilli()), EndsAt: time.UnixMilli(ends.UnixMilli()),
		Status: store.StatusActive,
	}, nil
}

// text checks a field's length and that it holds no control character.
func text(name, value string, max int) error {
	if !utf8.ValidString(value) {
		return fmt.Errorf("%w: %s is not valid UTF-8", ErrInvalid, name)
	}
	if n := utf8.RuneCountInString(value); n > max {
		return fmt.Errorf("%w: %s has %d characters; at most %d", ErrInvalid, name, n, max)
	}
	if strings.ContainsFunc(value, unicode.IsControl) {
		return fmt.Errorf("%w: %s holds a control character", ErrInvalid, name)
	}
	return nil
}

// clip shortens a value quoted in an error.
func clip(s string) string {
	if len(s) > 70 {
		return s[:70] + "…"
	}
	return s
}

// newID is a fresh booking id: "b-" and 80 random bits.
func newID() string {
	b := make([]byte, 10)
	rand.Read(b)
	return "b-" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}
