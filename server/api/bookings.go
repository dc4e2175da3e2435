//go:build !wasm

package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"tether/conn/wire"
	"tether/server/auth"
	"tether/server/bookings"
	"tether/server/httpjson"
	"tether/server/store"
)

// MinAPIKeyBytes is the shortest operator API key accepted (TETHER_API_KEY).
const MinAPIKeyBytes = 32

// maxBookingBytes bounds the body of a booking request.
const maxBookingBytes = 16 << 10

// CodeInvalidBooking is the error code of a booking request that does not
// hold together (400).
const CodeInvalidBooking = "invalid_booking"

// operatorAPI serves the booking routes behind the operator's key.
type operatorAPI struct {
	service *bookings.Service
	key     [sha256.Size]byte
	// revoked is told of the sessions a revocation ended, and cancelled of
	// a cancelled booking's room, so that live sockets hear at once.
	revoked   func(sessions [][]byte)
	cancelled func(room string)
	log       *slog.Logger
}

// bookingAnswer is the body of the booking routes' answers.
type bookingAnswer struct {
	Booking bookings.View   `json:"booking"`
	Links   *bookings.Links `json:"links,omitempty"`
	// EndedSessions counts the sessions a revocation ended.
	EndedSessions *int `json:"ended_sessions,omitempty"`
}

func (o *operatorAPI) routes(mux *http.ServeMux) {
	mux.Handle("POST /api/bookings", o.authorized(o.create))
	mux.Handle("GET /api/bookings/{id}", o.authorized(o.get))
	mux.Handle("POST /api/bookings/{id}/cancel", o.authorized(o.cancel))
	mux.Handle("POST /api/bookings/{id}/revoke", o.authorized(o.revoke))
}

// authorized lets through the requests that carry the operator's key.
func (o *operatorAPI) authorized(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, ok := auth.BearerToken(r)
		got := sha256.Sum256([]byte(key))
		// Digests of equal length: the comparison takes the same time
		// whatever the key's length or its first wrong byte.
		if !ok || subtle.ConstantTimeCompare(got[:], o.key[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="tether operator API"`)
			WriteError(w, http.StatusUnauthorized, wire.CodeUnauthorized, "the operator API needs Authorization: Bearer <TETHER_API_KEY>")
			return
		}
		next(w, r)
	})
}

func (o *operatorAPI) create(w http.ResponseWriter, r *http.Request) {
	var req bookings.Request
	if !decodeStrict(w, r, &req) {
		return
	}
	view, links, created, err := o.service.Create(r.Context(), req)
	if err != nil {
		o.fail(w, r, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	httpjson.Write(w, status, bookingAnswer{Booking: view, Links: &links})
}

func (o *operatorAPI) get(w http.ResponseWriter, r *http.Request) {
	view, links, err := o.service.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		o.fail(w, r, err)
		return
	}
	httpjson.Write(w, http.StatusOK, bookingAnswer{Booking: view, Links: &links})
}

func (o *operatorAPI) cancel(w http.ResponseWriter, r *http.Request) {
	b, err := o.service.Cancel(r.Context(), r.PathValue("id"))
	if err != nil {
		o.fail(w, r, err)
		return
	}
	if o.cancelled != nil {
		o.cancelled(b.Room)
	}
	httpjson.Write(w, http.StatusOK, bookingAnswer{Booking: bookings.ViewOf(b)})
}

func (o *operatorAPI) revoke(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Participant store.Participant `json:"participant"`
	}
	if !decodeStrict(w, r, &req) {
		return
	}
	b, ended, err := o.service.Revoke(r.Context(), r.PathValue("id"), req.Participant)
	if err != nil {
		o.fail(w, r, err)
		return
	}
	if o.revoked != nil && len(ended) > 0 {
		o.revoked(ended)
	}
	n := len(ended)
	httpjson.Write(w, http.StatusOK, bookingAnswer{Booking: bookings.ViewOf(b), EndedSessions: &n})
}

// fail answers err of the booking service.
func (o *operatorAPI) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, bookings.ErrInvalid):
		WriteError(w, http.StatusBadRequest, CodeInvalidBooking, err.Error())
	case errors.Is(err, store.ErrNotFound):
		WriteError(w, http.StatusNotFound, wire.CodeNotFound, "no booking "+clipID(r.PathValue("id")))
	case errors.Is(err, store.ErrConflict):
		WriteError(w, http.StatusConflict, wire.CodeConflict, "a booking with that id exists with other details")
	default:
		writeInternal(w, r, o.log, "booking request failed", err, "the booking could not be read or stored; try again")
	}
}

// decodeStrict reads a JSON body of at most maxBookingBytes into v, with no
// unknown field (an operator's typo must not pass for an empty field); on
// failure it answers 400 or 413 itself.
func decodeStrict(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBookingBytes))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.Decode(&struct{}{}) != io.EOF {
		err = errors.New("more than one JSON value")
	}
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		WriteError(w, http.StatusRequestEntityTooLarge, wire.CodeTooLarge, "the body is over 16 KiB")
		return false
	case err != nil:
		WriteError(w, http.StatusBadRequest, CodeInvalidBooking, "the body must be one JSON object of the documented fields: "+err.Error())
		return false
	}
	return true
}

// clipID keeps an id quoted back short and printable.
func clipID(id string) string {
	if len(id) > 70 {
		id = id[:70]
	}
	return strings.ToValidUTF8(id, "")
}
