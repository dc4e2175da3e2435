//go:build js && wasm

// Command wasm is tether's browser entry: it registers the pages with a
// connector that opens each page's connection on the browser ports, and
// hands the page to go-app. `make build` compiles it to web/app.wasm.
package main

import (
	goapp "github.com/maxence-charriere/go-app/v10/pkg/app"

	"tether/app"
	"tether/components"
	"tether/conn"
)

func main() {
	dev := goapp.Getenv(app.EnvDev) == "1"
	c := newConnector(dev, goapp.Getenv(app.EnvAuthURL))
	app.Register(app.Options{
		// What the server pre-rendered, until the page's session opens.
		Status:  components.FixedStatus(conn.InitialStatus()),
		Dev:     dev,
		Connect: c,
	})
	if u := goapp.Window().URL(); u != nil {
		c.Prefetch(u.Path, u.Query())
	}
	goapp.RunWhenOnBrowser()
}
