package components

import "tether/conn"

// Icons are inline SVG so the app needs no remote asset and works offline.
// Each is aria-hidden: the words beside it or an aria-label carry the meaning.
const (
	iconWifi = `<svg class="icon" viewBox="0 0 24 24" width="20" height="20" aria-hidden="true" focusable="false">` +
		`<path d="M2 8.5a15 15 0 0 1 20 0" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round"/>` +
		`<path d="M5.5 12.5a10 10 0 0 1 13 0" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round"/>` +
		`<path d="M9 16.3a5 5 0 0 1 6 0" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round"/>` +
		`<circle cx="12" cy="20" r="1.5" fill="currentColor"/></svg>`

	iconWarning = `<svg class="icon" viewBox="0 0 24 24" width="20" height="20" aria-hidden="true" focusable="false">` +
		`<path d="M12 3 2 21h20L12 3z" fill="none" stroke="currentColor" stroke-width="2" stroke-linejoin="round"/>` +
		`<path d="M12 10v5" stroke="currentColor" stroke-width="2" stroke-linecap="round"/>` +
		`<circle cx="12" cy="18" r="1.2" fill="currentColor"/></svg>`

	iconWifiOff = `<svg class="icon" viewBox="0 0 24 24" width="20" height="20" aria-hidden="true" focusable="false">` +
		`<path d="M2 8.5a15 15 0 0 1 6-3.3M12 5a15 15 0 0 1 10 3.5" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round"/>` +
		`<path d="M9 16.3a5 5 0 0 1 6 0" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round"/>` +
		`<circle cx="12" cy="20" r="1.5" fill="currentColor"/>` +
		`<path d="M3 3l18 18" stroke="currentColor" stroke-width="2" stroke-linecap="round"/></svg>`

	iconReconnect = `<svg class="icon" viewBox="0 0 24 24" width="18" height="18" aria-hidden="true" focusable="false">` +
		`<path d="M20 12a8 8 0 1 1-2.3-5.7" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round"/>` +
		`<path d="M20 4v5h-5" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"/></svg>`

	// The marks of a message of mine: waiting in the outbox, stored by the
	// server, or failed. The message's aria-label says it in words.
	iconClock = `<svg class="icon" viewBox="0 0 24 24" width="14" height="14" aria-hidden="true" focusable="false">` +
		`<circle cx="12" cy="12" r="9" fill="none" stroke="currentColor" stroke-width="2"/>` +
		`<path d="M12 7v5l3 2" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"/></svg>`

	iconCheck = `<svg class="icon" viewBox="0 0 24 24" width="14" height="14" aria-hidden="true" focusable="false">` +
		`<path d="M4 12.5l5 5L20 6.5" fill="none" stroke="currentColor" stroke-width="2.5" stroke-linecap="round" stroke-linejoin="round"/></svg>`

	iconAlert = `<svg class="icon" viewBox="0 0 24 24" width="14" height="14" aria-hidden="true" focusable="false">` +
		`<circle cx="12" cy="12" r="9" fill="none" stroke="currentColor" stroke-width="2"/>` +
		`<path d="M12 7v6" stroke="currentColor" stroke-width="2" stroke-linecap="round"/>` +
		`<circle cx="12" cy="16.5" r="1.2" fill="currentColor"/></svg>`

	iconSend = `<svg class="icon" viewBox="0 0 24 24" width="20" height="20" aria-hidden="true" focusable="false">` +
		`<path d="M3 11.5 21 3l-8.5 18-2-7.5L3 11.5z" fill="none" stroke="currentColor" stroke-width="2" stroke-linejoin="round"/></svg>`
)

// qualityIcon is the wifi icon for good links, a warning for a poor one and
// the offline icon when disconnected, as in the original design.
func qualityIcon(q conn.Quality) string {
	switch q {
	case conn.QualityExcellent, conn.QualityGood:
		return iconWifi
	case conn.QualityPoor:
		return iconWarning
	default:
		return iconWifiOff
	}
}
