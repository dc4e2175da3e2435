//go:build js && wasm

package browser

import (
	"encoding/json"
	"fmt"

	"github.com/hack-pad/safejs"

	"tether/conn"
)

// Debuggable is what window.tether reaches: the service.
type Debuggable interface {
	Status() conn.Status
	Outbox() []conn.OutboxEntry
	ForceReconnect()
}

// Expose sets window.tether for people debugging in the console:
// status() returns the status (the original's getStatus()) as a plain
// object that also turns into its JSON text wherever a string is expected
// (JSON.parse(tether.status()) works as well as tether.status().quality),
// outbox() lists the messages not acked yet (pending or failed) as plain
// objects, and reconnect() reconnects now. The returned func removes it and
// releases its callbacks.
func Expose(svc Debuggable) (remove func(), err error) {
	win, err := global("window")
	if err != nil {
		return nil, err
	}
	jsonObj, err := global("JSON")
	if err != nil {
		return nil, err
	}
	objectCtor, err := global("Object")
	if err != nil {
		return nil, err
	}
	releaseToString, toString, err := funcOf("tether.status().toString", func([]safejs.Value) any {
		data, _ := json.Marshal(svc.Status().Report())
		return string(data)
	})
	if err != nil {
		return nil, err
	}
	releaseStatus, status, err := funcOf("tether.status", func([]safejs.Value) any {
		data, err := json.Marshal(svc.Status().Report())
		if err != nil {
			return nil
		}
		obj, err := jsonObj.Call("parse", string(data))
		if err != nil {
			return nil
		}
		desc, err := safejs.ValueOf(map[string]any{"value": safejs.Unsafe(toString), "enumerable": false})
		if err == nil {
			objectCtor.Call("defineProperty", obj, "toString", desc)
		}
		return safejs.Unsafe(obj)
	})
	if err != nil {
		releaseToString()
		return nil, err
	}
	releaseOutbox, outbox, err := funcOf("tether.outbox", func([]safejs.Value) any {
		entries := svc.Outbox()
		if entries == nil {
			entries = []conn.OutboxEntry{}
		}
		data, err := json.Marshal(entries)
		if err != nil {
			return nil
		}
		obj, err := jsonObj.Call("parse", string(data))
		if err != nil {
			return nil
		}
		return safejs.Unsafe(obj)
	})
	if err != nil {
		releaseToString()
		releaseStatus()
		return nil, err
	}
	releaseReconnect, reconnect, err := funcOf("tether.reconnect", func([]safejs.Value) any {
		// The service does the work on its own goroutine; the console gets
		// its answer at once.
		svc.ForceReconnect()
		return nil
	})
	release := func() {
		releaseToString()
		releaseStatus()
		releaseOutbox()
		if releaseReconnect != nil {
			releaseReconnect()
		}
	}
	if err != nil {
		release()
		return nil, err
	}
	api, err := safejs.ValueOf(map[string]any{
		"status":    safejs.Unsafe(status),
		"outbox":    safejs.Unsafe(outbox),
		"reconnect": safejs.Unsafe(reconnect),
	})
	if err == nil {
		err = win.Set("tether", api)
	}
	if err != nil {
		release()
		return nil, fmt.Errorf("failed to set window.tether: %w", err)
	}
	return func() {
		win.Delete("tether")
		release()
	}, nil
}
