package app

import (
	"slices"
	"sync/atomic"
)

// Change notification: the store marks what changed under its lock, and its
// goroutine tells the watchers, outside the lock, one call at a time.

// watcher is one Watch or WatchRooms call; stopped is read without the lock
// so that a stopped watcher is never called again.
type watcher[T any] struct {
	fn      func(T)
	stopped atomic.Bool
}

// unwatch is the stop function of w: it marks w stopped at once, so that a
// call the notifier already took is skipped, then removes w from the list
// that list returns under s.mu (nil: the list is gone with its room).
func unwatch[T any](s *Store, w *watcher[T], list func() *[]*watcher[T]) (stop func()) {
	return func() {
		w.stopped.Store(true)
		s.mu.Lock()
		defer s.mu.Unlock()
		if l := list(); l != nil {
			*l = slices.DeleteFunc(*l, func(x *watcher[T]) bool { return x == w })
		}
	}
}

// changedLocked marks the watchers of room, and the inbox's, as due a
// call; signal then wakes the notifier, after the lock is released.
func (s *Store) changedLocked(room string) {
	s.dirty[room] = true
	s.inboxDirty = true
}

// signal wakes the notifier; it never blocks.
func (s *Store) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// notify is the store's goroutine: it tells the watchers of each changed
// room its latest view, in order and one call at a time, so a watcher never
// sees an older view after a newer one.
func (s *Store) notify() {
	defer s.wg.Done()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-s.wake:
		}
		type call struct {
			watchers []*watcher[RoomView]
			view     RoomView
		}
		s.mu.Lock()
		var calls []call
		for name := range s.dirty {
			if r := s.rooms[name]; r != nil && len(r.watchers) > 0 {
				calls = append(calls, call{slices.Clone(r.watchers), s.viewLocked(r)})
			}
		}
		clear(s.dirty)
		var inbox []*watcher[[]RoomSummary]
		var summaries []RoomSummary
		if s.inboxDirty && len(s.inbox) > 0 {
			inbox = slices.Clone(s.inbox)
			summaries = s.summariesLocked()
		}
		s.inboxDirty = false
		var arrivalWatch []*watcher[int]
		arrivals := s.arrivals
		if s.arrivalsDirty {
			arrivalWatch = slices.Clone(s.arrivalWatch)
		}
		s.arrivalsDirty = false
		s.delivering = true
		s.mu.Unlock()
		for _, c := range calls {
			for _, w := range c.watchers {
				if !w.stopped.Load() && s.ctx.Err() == nil {
					v := c.view
					v.Messages = slices.Clone(v.Messages) // each watcher owns its view
					w.fn(v)
				}
			}
		}
		for _, w := range inbox {
			if !w.stopped.Load() && s.ctx.Err() == nil {
				w.fn(slices.Clone(summaries))
			}
		}
		for _, w := range arrivalWatch {
			if !w.stopped.Load() && s.ctx.Err() == nil {
				w.fn(arrivals)
			}
		}
		s.mu.Lock()
		s.delivering = false
		s.mu.Unlock()
	}
}
