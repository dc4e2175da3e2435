package conn

import (
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"strings"
	"time"

	"tether/conn/wire"
)

// Token renewal (contract v2): a session's tokens are short (15 min by
// default). At 80 % of a token's life the machine asks the token source for
// a new one and hands it to the open socket in an auth frame, which moves
// the socket's end without closing it: no banner, no resume, no message at
// risk. While polling, the next requests carry it. A renewal that fails is
// tried again while the token lasts; once it is over the server's 4401 (or
// 401) takes the usual path: one refresh, then unauthorized.

// renewShare is the share of a token's life after which it is renewed.
const renewShare = 0.8

// minRenewWait bounds how soon a renewal (or a retry of one) comes: a
// token that lives very little must not make the machine spin.
const minRenewWait = time.Second

// tokenExpiry reads the exp claim of a JWT without checking it (the server
// does); the zero time when there is none.
func tokenExpiry(token string) time.Time {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return time.Time{}
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return time.Time{}
	}
	var claims struct {
		Exp float64 `json:"exp"`
	}
	if json.Unmarshal(payload, &claims) != nil || claims.Exp <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(int64(claims.Exp * 1000))
}

// scheduleRenewal starts the renewal of the token in hand at 80 % of what
// is left of its life; a token without exp is never renewed this way.
func (m *Machine) scheduleRenewal() {
	exp := tokenExpiry(m.token)
	if exp.IsZero() {
		m.stopTimer(TimerRenew)
		return
	}
	left := exp.Sub(m.now)
	m.startTimer(TimerRenew, max(minRenewWait, time.Duration(float64(left)*renewShare)))
}

// renewToken asks for a new token while the current one still works.
func (m *Machine) renewToken() {
	if m.closed || m.unauthorized || m.tokenReq != 0 || m.token == "" {
		return
	}
	m.fetchToken(true)
	m.tokenRenew = true
}

// onRenewed takes the answer of a renewal: the new token goes to the open
// socket; a failure is tried again halfway to the old token's end.
func (m *Machine) onRenewed(ev TokenReady) {
	if ev.Err != nil || ev.Token == "" {
		reason := "empty token"
		if ev.Err != nil {
			reason = ev.Err.Error()
		}
		m.logAttrs(slog.LevelWarn, "Token renewal failed - trying again", "reason", reason)
		if exp := tokenExpiry(m.token); !exp.IsZero() && exp.After(m.now) {
			m.startTimer(TimerRenew, max(minRenewWait, exp.Sub(m.now)/2))
		}
		return
	}
	m.token = ev.Token
	m.scheduleRenewal()
	if m.ws == wsOpen && m.helloToken != m.token {
		m.helloToken = m.token
		m.emit(SendFrame{Gen: m.gen, Frame: &wire.Auth{Token: m.token}})
	}
	// Polls and posts take the token in hand at each request.
}

// onAuthed notes the server's answer to an auth frame.
func (m *Machine) onAuthed(f *wire.Authed) {
	m.logAttrs(slog.LevelInfo, "Token renewed on the live socket", "expires_at", time.UnixMilli(f.ExpiresAt).UTC().Format(time.RFC3339))
}
