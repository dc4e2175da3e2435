package components

import (
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"tether/conn"
)

// Exports for the tests of package components_test.

// BannerModel drives the banner's model as the component does on the UI
// goroutine, without go-app: natively OnMount never runs.
type BannerModel struct{ m bannerModel }

// NewBannerModel returns a model with the given timings.
func NewBannerModel(grace, recoveredFor time.Duration) *BannerModel {
	return &BannerModel{m: bannerModel{grace: grace, recoveredFor: recoveredFor}}
}

// SetStatus gives the model a new status and advances it to now.
func (b *BannerModel) SetStatus(s conn.Status, now time.Time) (BannerView, time.Duration) {
	b.m.status = s
	return b.Advance(now)
}

// SetOutbox gives the model a new outbox and advances it to now.
func (b *BannerModel) SetOutbox(entries []conn.OutboxEntry, now time.Time) (BannerView, time.Duration) {
	b.m.setOutbox(entries)
	return b.Advance(now)
}

// SetArrivals gives the model a new count of others' messages and
// advances it to now.
func (b *BannerModel) SetArrivals(n int, now time.Time) (BannerView, time.Duration) {
	b.m.setArrivals(n)
	return b.Advance(now)
}

// Advance moves the model to now: what it shows, and when that changes by
// itself.
func (b *BannerModel) Advance(now time.Time) (BannerView, time.Duration) {
	wake := b.m.advance(now)
	return b.m.shown, wake
}

// BannerUI draws a banner view as the component does.
func BannerUI(v BannerView) app.UI { return bannerUI(v, nil) }

// Type puts s in the composer as the textarea's input events do.
func (c *Composer) Type(s string) { c.draft = s }

// Submit is what Enter and the send button do, without the DOM.
func (c *Composer) Submit() bool { return c.send() }

// Draft is the composer's text.
func (c *Composer) Draft() string { return c.draft }

// Err is the error the composer shows.
func (c *Composer) Err() string { return c.err }
