package conntest

import (
	"context"
	"errors"
	"sync"

	"tether/conn"
)

// ErrNoToken is what Tokens.Refresh returns when it has no new token.
var ErrNoToken = errors.New("no token left to hand out")

// Tokens is a token source: Token returns the current token, Refresh moves
// to the next one queued.
type Tokens struct {
	mu           sync.Mutex
	current      string
	next         []string
	tokenErr     error
	refreshErr   error
	tokenCalls   int
	refreshCalls int
}

var _ conn.TokenSource = (*Tokens)(nil)

// NewTokens returns a source holding token, with refreshes queued.
func NewTokens(token string, refreshes ...string) *Tokens {
	return &Tokens{current: token, next: refreshes}
}

// Token returns the current token.
func (t *Tokens) Token(ctx context.Context) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.tokenCalls++
	if t.tokenErr != nil {
		return "", t.tokenErr
	}
	return t.current, ctx.Err()
}

// Refresh returns the next queued token, or ErrNoToken.
func (t *Tokens) Refresh(ctx context.Context) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.refreshCalls++
	if len(t.next) == 0 {
		if t.refreshErr != nil {
			return "", t.refreshErr
		}
		return "", ErrNoToken
	}
	t.current, t.next = t.next[0], t.next[1:]
	return t.current, ctx.Err()
}

// QueueRefresh adds tokens for the next refreshes.
func (t *Tokens) QueueRefresh(tokens ...string) { appendGuarded(&t.mu, &t.next, tokens...) }

// FailToken makes Token fail with err (nil: works again).
func (t *Tokens) FailToken(err error) { setGuarded(&t.mu, &t.tokenErr, err) }

// FailRefresh makes the refreshes fail with err (nil: as before) once no
// token is queued, as a session's server refusing a new token would.
func (t *Tokens) FailRefresh(err error) { setGuarded(&t.mu, &t.refreshErr, err) }

// Calls reports how often Token and Refresh were called.
func (t *Tokens) Calls() (token, refresh int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.tokenCalls, t.refreshCalls
}
