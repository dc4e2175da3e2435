//go:build !wasm

package bundle

import (
	"net/http"
	"strings"
)

// ContentSecurityPolicy is the policy of every page and asset. Everything
// comes from this server; nothing runs inline.
//
//   - script-src 'wasm-unsafe-eval' lets the page compile app.wasm
//     (WebAssembly.instantiateStreaming) without 'unsafe-eval', which
//     would allow eval() and new Function() as well. go-app's app.js and
//     wasm_exec.js are files, loaded by <script src>.
//   - style-src 'self' without 'unsafe-inline': the pre-rendered pages carry
//     no style attribute or <style> element, and Chromium reports no
//     violation over the whole Playwright suite (which fails on any).
//     go-app's loader writes innerText, and element.style (CSSOM) is not
//     governed by CSP.
//   - img-src 'self' without data:: no stylesheet or page inlines an image
//     (the icons in the markup are inline <svg>, which img-src does not
//     govern).
//   - connect-src 'self' covers fetch and the WebSocket to this origin
//     (CSP Level 3: 'self' matches ws: and wss: of the same host).
//   - worker-src 'self' is the service worker; manifest-src 'self' the PWA
//     manifest.
//   - object-src, base-uri, form-action and frame-ancestors close what a
//     markup injection could use: plugins, a <base> that moves every
//     relative URL, forms posting elsewhere, and framing (clickjacking).
var ContentSecurityPolicy = PolicyWith(nil)

// PolicyWith is ContentSecurityPolicy with connect-src also allowing the
// origins given (scheme://host[:port]): a platform's -auth-url, which the
// pages call for their tokens.
func PolicyWith(connect []string) string {
	return strings.Join([]string{
		"default-src 'self'",
		"script-src 'self' 'wasm-unsafe-eval'",
		"style-src 'self'",
		"img-src 'self'",
		strings.Join(append([]string{"connect-src 'self'"}, connect...), " "),
		"worker-src 'self'",
		"manifest-src 'self'",
		"object-src 'none'",
		"base-uri 'none'",
		"form-action 'self'",
		"frame-ancestors 'none'",
	}, "; ")
}

// securityHeaders are set on every answer of the bundle, 404s included,
// after its Content-Security-Policy.
var securityHeaders = [][2]string{
	// Browsers take the Content-Type as it is: a file never runs as a script
	// or a stylesheet because its bytes look like one.
	{"X-Content-Type-Options", "nosniff"},
	// For browsers without CSP's frame-ancestors.
	{"X-Frame-Options", "DENY"},
	// Chat URLs name private rooms: no other site learns them.
	{"Referrer-Policy", "no-referrer"},
	// A page this one opens gets no handle on it (window.opener), and the
	// other way round.
	{"Cross-Origin-Opener-Policy", "same-origin"},
	// Other sites cannot embed the bundle's files (no-cors loads of the
	// pages, the scripts, app.wasm).
	{"Cross-Origin-Resource-Policy", "same-origin"},
	// Features tether never uses are off for the page and anything in it.
	{"Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()"},
}

// setSecurityHeaders sets policy and securityHeaders on h.
func setSecurityHeaders(h http.Header, policy string) {
	h.Set("Content-Security-Policy", policy)
	for _, kv := range securityHeaders {
		h.Set(kv[0], kv[1])
	}
}
