//go:build !wasm

// Package bundle serves tether's browser bundle: the go-app pages
// (pre-rendered), app.wasm precompressed by Accept-Encoding, the toolchain's
// wasm_exec.js and the static assets, all from files embedded in the binary.
package bundle

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"sort"
	"strconv"
	"strings"

	goapp "github.com/maxence-charriere/go-app/v10/pkg/app"
)

// Names of the files in the bundle that are treated specially.
const (
	wasmName   = "app.wasm"
	brotliName = "app.wasm.br"
	gzipName   = "app.wasm.gz"
	robotsName = "robots.txt"
)

// ErrNoWasm means the bundle has no app.wasm: the binary was built before
// the wasm was, and the pages could never start in a browser.
var ErrNoWasm = errors.New("app.wasm is missing from the bundle: build it with `make build`")

// Config says what goes into the bundle.
type Config struct {
	// Web holds the static files: app.wasm (with app.wasm.br and app.wasm.gz
	// when built), app.css and the icons.
	Web fs.FS
	// WasmExec is the wasm_exec.js of the Go that built app.wasm.
	WasmExec []byte
	// Env is passed to the app in the browser (go-app's Handler.Env).
	Env map[string]string
	// IsPage reports whether a path is a page of the app (app.IsPage). Only
	// those paths and go-app's own assets reach go-app; nil serves no page.
	IsPage func(path string) bool
	// ConnectOrigins are origins besides the server's own that the pages
	// may call (the Content-Security-Policy's connect-src): a platform's
	// -auth-url.
	ConnectOrigins []string
	// PublicHost is the host the pages are reached at over HTTPS (the
	// first -public-origin), which their link previews name: og:url and
	// og:image, read by the messaging apps a booking's link is sent
	// through. "" leaves those tags without a host: go-app writes them as
	// "https://" + host + path and has no other way.
	PublicHost string
}

// Bundle is an http.Handler for every path of the front end. Register the
// pages' routes (app.Register) before it serves its first request.
type Bundle struct {
	csp     string // the Content-Security-Policy of every answer
	version string
	web     fs.FS
	files   map[string]bool
	wasm    []wasmVariant
	app     *goapp.Handler
	mux     *http.ServeMux
	isPage  func(string) bool
	gzipped *gzipMemo // the gzip bytes of the answers that never change
	renders *renderGate
	// robotsTxt is web/robots.txt, nil when the bundle has none.
	robotsTxt []byte
	loader    loader
}

// New checks the files and builds the handler.
func New(c Config) (*Bundle, error) {
	files := map[string]bool{}
	err := fs.WalkDir(c.Web, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && !strings.HasSuffix(p, ".go") {
			files[p] = true
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("failed to list the web files: %w", err)
	}
	if !files[wasmName] {
		return nil, ErrNoWasm
	}
	if len(c.WasmExec) == 0 {
		return nil, errors.New("wasm_exec.js is empty")
	}
	version, err := buildID(c.Web, files, c.WasmExec)
	if err != nil {
		return nil, err
	}
	wasm, err := fs.Stat(c.Web, wasmName)
	if err != nil {
		return nil, err
	}
	variants, err := loadWasm(c.Web, files)
	if err != nil {
		return nil, fmt.Errorf("failed to load app.wasm: %w", err)
	}
	b := &Bundle{csp: PolicyWith(c.ConnectOrigins), version: version, web: c.Web, files: files, wasm: variants, mux: http.NewServeMux(), isPage: c.IsPage, gzipped: newGzipMemo(),
		renders: newRenderGate(renderSlots, maxRenderWaiting, renderWait)}
	if files[robotsName] {
		if b.robotsTxt, err = fs.ReadFile(c.Web, robotsName); err != nil {
			return nil, fmt.Errorf("failed to read robots.txt: %w", err)
		}
	}
	if b.isPage == nil {
		b.isPage = func(string) bool { return false }
	}
	b.app = &goapp.Handler{
		Name:            "tether",
		ShortName:       "tether",
		Title:           "tether",
		Description:     "The chat for your booking that keeps its connection.",
		Lang:            "en",
		BackgroundColor: "#f5f7fa",
		ThemeColor:      "#0f766e",
		LoadingLabel:    "Loading tether… {progress}%",
		Icon: goapp.Icon{
			Default:  "/web/icon-192.png",
			Large:    "/web/icon-512.png",
			Maskable: "/web/icon-512.png",
			SVG:      "/web/icon.svg",
		},
		// The installed app is the therapist's all-day inbox (contract
		// v2): it opens there, with the session its cookie keeps.
		StartURL:  "/therapist",
		Styles:    []string{"/web/app.css"},
		Resources: webResources{b},
		Version:   version,
		// The loader divides the bytes it has read by this; the body is
		// decoded by the browser, so it is the raw size whatever the encoding.
		WasmContentLength:     strconv.FormatInt(wasm.Size(), 10),
		ServiceWorkerTemplate: serviceWorker,
		Env:                   c.Env,
		// The page asks for app.wasm as soon as its head is read, not when
		// app.js has run: on a slow phone link (300 ms a round trip) that
		// is the round trips of the stylesheets and scripts, and then the
		// wasm's own, saved. app.js's fetch takes the preloaded answer: the
		// same URL, mode (cors, from crossorigin) and credentials.
		RawHeaders: []string{`<link rel="preload" href="/web/` + wasmName + `" as="fetch" crossorigin="anonymous">`},
		Domain:     c.PublicHost,
	}
	if c.PublicHost != "" {
		// The preview's picture: the app's icon, on this server.
		b.app.Image = "/web/icon-512.png"
	}
	b.mux.HandleFunc("GET /wasm_exec.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("ETag", `"`+version+`"`)
		if r.Header.Get("If-None-Match") == `"`+version+`"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(c.WasmExec)))
		w.Write(c.WasmExec)
	})
	b.mux.HandleFunc("GET /robots.txt", b.serveRobots)
	b.mux.HandleFunc("GET /app.js", b.serveLoader)
	b.mux.HandleFunc("/", b.serveApp)
	return b, nil
}

// Version is the build id: a hash of every file the bundle serves, so it
// changes with each release and never with a restart.
func (b *Bundle) Version() string { return b.version }

// ServeHTTP serves the front end, with the security headers on every
// answer, and never hands go-app a URL that names a host. Text answers go
// out gzip-compressed to clients that accept it; app.wasm has its own
// precompressed copies.
func (b *Bundle) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	setSecurityHeaders(w.Header(), b.csp)
	r = WithoutURLHost(r)
	if (r.Method == http.MethodGet || r.Method == http.MethodHead) && b.isPage(r.URL.Path) {
		b.servePage(w, r)
		return
	}
	b.serve(w, r, false)
}

// serve answers r, gzip-compressed when it may be; page says r asks for a
// page (which the gzip memo never keeps).
func (b *Bundle) serve(w http.ResponseWriter, r *http.Request, page bool) {
	if r.Method == http.MethodGet && r.URL.Path != "/web/"+wasmName && acceptsEncoding(r.Header.Get("Accept-Encoding"), "gzip") {
		serveCompressed(b.mux, b.gzipped, w, r, page)
		return
	}
	b.mux.ServeHTTP(w, r)
}

// busyPage is what a page past the render gate answers: it asks for itself
// again after two seconds, so a customer opening a booking's link while
// the server is flooded gets the chat without doing anything. (An
// installed app's worker answers from its cache instead.)
const busyPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="2"><title>tether</title></head>
<body><p>tether is busy. This page opens again in a moment.</p></body></html>
`

// servePage renders a page (and compresses it) holding a slot of the
// render gate, and writes it to the client once the slot is free again.
func (b *Bundle) servePage(w http.ResponseWriter, r *http.Request) {
	if !b.renders.enter(r.Context()) {
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Cache-Control", "no-store")
		h.Set("Retry-After", "1")
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, busyPage)
		return
	}
	held := &heldResponse{header: w.Header(), status: http.StatusOK}
	func() {
		defer b.renders.leave()
		b.serve(held, r, true)
	}()
	w.WriteHeader(held.status)
	w.Write(held.body.Bytes())
}

// buildID hashes the files' names and contents in a fixed order.
func buildID(web fs.FS, files map[string]bool, wasmExec []byte) (string, error) {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		data, err := fs.ReadFile(web, n)
		if err != nil {
			return "", fmt.Errorf("failed to read %s: %w", n, err)
		}
		fmt.Fprintf(h, "%s\x00%d\x00", n, len(data))
		h.Write(data)
	}
	fmt.Fprintf(h, "wasm_exec.js\x00%d\x00", len(wasmExec))
	h.Write(wasmExec)
	return hex.EncodeToString(h.Sum(nil))[:20], nil
}
