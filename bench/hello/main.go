// Command hello is go-app's hello world, the yardstick for tether's client:
// `make bench` builds it with the flags of `make wasm` and compares the size
// of its app.wasm, and the time from navigation to its component's mount,
// with tether's. It is go-app's documented example, with two changes that
// do not touch the client: the server listens on $HELLO_ADDR and prints
// its URL, and the icon is local (the default one is a remote URL, which a
// closed network would stall on). The wasm build and the server are one
// main package, as in the example.
//
// With HELLO_WASM_BROTLI=1 the server also sends web/app.wasm.br to
// browsers that accept brotli, as tether's does: go-app alone sends the raw
// 14 MB, and on a slow link the comparison would be of the encodings, not
// of the apps.
package main

import (
	"cmp"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// hello is a component that displays a simple "Hello World!". data-mounted
// says when the browser has mounted it (the pre-rendered page says "no").
type hello struct {
	app.Compo
	mounted bool
}

// OnMount runs on the UI goroutine once the component is in the page.
func (h *hello) OnMount(ctx app.Context) {
	ctx.Dispatch(func(app.Context) { h.mounted = true })
}

func (h *hello) Render() app.UI {
	mounted := "no"
	if h.mounted {
		mounted = "yes"
	}
	return app.H1().DataSet("testid", "hello").Attr("data-mounted", mounted).Text("Hello World!")
}

func main() {
	app.Route("/", func() app.Composer { return &hello{} })
	app.RunWhenOnBrowser()

	h := &app.Handler{
		Name:        "Hello",
		Description: "An Hello World! example",
		Icon:        app.Icon{Default: "/web/icon.png"},
	}
	if os.Getenv("HELLO_WASM_BROTLI") == "1" {
		serveBrotliWasm(h)
	}
	http.Handle("/", h)
	ln, err := net.Listen("tcp", cmp.Or(os.Getenv("HELLO_ADDR"), "127.0.0.1:8000"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("hello serving http://%s/\n", ln.Addr())
	log.Fatal(http.Serve(ln, nil))
}

// serveBrotliWasm registers web/app.wasm.br for /web/app.wasm (to browsers
// that accept br) before h, and tells h's loader the raw size, which its
// progress divides the decoded bytes by.
func serveBrotliWasm(h *app.Handler) {
	raw, err := os.Stat("web/app.wasm")
	if err != nil {
		log.Fatal(err)
	}
	br, err := os.ReadFile("web/app.wasm.br")
	if err != nil {
		log.Fatal(err)
	}
	h.WasmContentLength = strconv.FormatInt(raw.Size(), 10)
	http.HandleFunc("GET /web/app.wasm", func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.Header.Get("Accept-Encoding"), "br") {
			h.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("Content-Type", "application/wasm")
		w.Header().Set("Content-Encoding", "br")
		w.Header().Set("Vary", "Accept-Encoding")
		w.Header().Set("Content-Length", strconv.Itoa(len(br)))
		w.Write(br)
	})
}
