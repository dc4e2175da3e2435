//go:build js && wasm

// Command wasm is tether's browser entry: it registers the pages and hands
// the page to go-app. `make build` compiles it to web/app.wasm.
package main

import (
	goapp "github.com/maxence-charriere/go-app/v10/pkg/app"

	"tether/app"
	"tether/components"
	"tether/conn"
)

func main() {
	app.Register(app.Options{
		// The stability service replaces this fixed status once it exists in
		// the browser; until then the indicator says, truthfully, that no
		// connection has been made.
		Status: components.FixedStatus(conn.InitialStatus()),
		Dev:    goapp.Getenv(app.EnvDev) == "1",
	})
	goapp.RunWhenOnBrowser()
}
