//go:build js && wasm

// Package browser gives the connection service its ports in the browser:
// the WebSocket, fetch, the network and page signals, localStorage and the
// token of the session, all reached through safejs so a JavaScript
// exception becomes a Go error and never a panic across the boundary.
//
// Every callback the package hands to JavaScript only passes the event on
// and returns; each is released when the context or the socket it belongs
// to ends, so nothing outlives the service.
package browser
