package components

import "tether/conn"

// Icons are inline SVG so the app needs no remote asset and works offline.
// Each is aria-hidden: the indicator's aria-label carries the meaning.
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
