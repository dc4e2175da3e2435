//go:build !wasm

package node

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"tether/server/bundle"
)

// publicOrigins are the origins (scheme://host[:port]) the server is
// reached at, from -public-origin.
type publicOrigins []*url.URL

// parsePublicOrigins reads a comma-separated list of origins such as
// "https://chat.example.com,https://chat.example.org:8443". Empty means the
// server answers any Host.
func parsePublicOrigins(s string) (publicOrigins, error) {
	var out publicOrigins
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		u, err := url.Parse(part)
		if err != nil {
			return nil, fmt.Errorf("failed to parse -public-origin %q: %w", part, err)
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
			return nil, fmt.Errorf("failed to parse -public-origin %q: want an origin like https://chat.example.com", part)
		}
		out = append(out, &url.URL{Scheme: u.Scheme, Host: strings.ToLower(u.Host)})
	}
	return out, nil
}

// match returns the origin a request's Host names, or nil. A default port
// may be written or left out (chat.example.com:443 is chat.example.com for
// https).
func (p publicOrigins) match(host string) *url.URL {
	host = strings.ToLower(host)
	for _, o := range p {
		if host == o.Host || host == withDefaultPort(o) {
			return o
		}
		if h, port, err := net.SplitHostPort(o.Host); err == nil && port == defaultPort(o.Scheme) && host == h {
			return o
		}
	}
	return nil
}

// first is the first origin ("https://chat.example.com"), or "" when none
// is set: the origin the links the server hands out start with.
func (p publicOrigins) first() string {
	if len(p) == 0 {
		return ""
	}
	return p[0].String()
}

// previewHost is the host of the first origin when it is https, the one
// the pages' link previews name; "" otherwise (go-app writes them https).
func (p publicOrigins) previewHost() string {
	if !p.secure() {
		return ""
	}
	return p[0].Host
}

// secure reports whether the server is reached over HTTPS: its first
// origin is https.
func (p publicOrigins) secure() bool { return len(p) > 0 && p[0].Scheme == "https" }

// originPatterns are the origins as the host patterns of -allowed-origins
// (path.Match syntax, matched against the Origin's host), with the
// pattern's special characters escaped: an IPv6 host is written in [].
func (p publicOrigins) originPatterns() []string {
	var out []string
	for _, o := range p {
		pattern := strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`, `]`, `\]`).Replace(o.Host)
		out = append(out, pattern)
	}
	return out
}

func withDefaultPort(o *url.URL) string {
	if _, _, err := net.SplitHostPort(o.Host); err == nil {
		return o.Host
	}
	return net.JoinHostPort(strings.Trim(o.Host, "[]"), defaultPort(o.Scheme))
}

func defaultPort(scheme string) string {
	if scheme == "https" {
		return "443"
	}
	return "80"
}

// guard is the outermost handler of the public address. Every answer says
// nosniff (the API's JSON and errors included). With -public-origin, a
// request for another Host gets 421 Misdirected Request: DNS rebinding and
// forged Host headers reach nothing, and no page, link or cache entry is
// ever made for a host the operator did not name. /healthz stays open, as
// load balancers probe it by IP. The URL a handler sees never names a host
// (an absolute-form request line sets one). Answers for an https origin
// carry HSTS: TLS ends in front of tether, and the operator said the origin
// is https, so browsers should never try it in clear again.
func guard(public publicOrigins, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if len(public) > 0 && r.URL.Path != "/healthz" {
			o := public.match(r.Host)
			if o == nil {
				http.Error(w, "misdirected request", http.StatusMisdirectedRequest)
				return
			}
			if o.Scheme == "https" {
				w.Header().Set("Strict-Transport-Security", hstsMaxAge)
			}
		}
		next.ServeHTTP(w, bundle.WithoutURLHost(r))
	})
}

// hstsMaxAge is a year, without includeSubDomains or preload: those bind
// the operator's other hosts, which is theirs to decide.
const hstsMaxAge = "max-age=31536000"

// CheckAuthURL checks a platform's -auth-url and returns its origin, which
// the pages' Content-Security-Policy then lets them call: an absolute
// https URL (http only on a loopback host, for tests), with no user, no
// fragment and no character the policy could read as another source.
func CheckAuthURL(s string) (origin string, err error) {
	u, err := url.Parse(s)
	bad := func(why string) (string, error) {
		return "", fmt.Errorf("-auth-url %q: %s; want a URL like https://platform.example.com/tether/token", s, why)
	}
	switch {
	case err != nil:
		return bad("not a URL")
	case u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		return bad("not an absolute http(s) URL")
	case u.User != nil || u.Fragment != "":
		return bad("no user or fragment, please")
	case strings.ContainsAny(s, " ;,'\"\\"):
		return bad("it holds a character a Content-Security-Policy reads apart")
	}
	if u.Scheme == "http" {
		host := u.Hostname()
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return bad("http only for a loopback host: the tokens must not cross the network in clear")
		}
	}
	return u.Scheme + "://" + strings.ToLower(u.Host), nil
}
