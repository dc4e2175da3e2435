package app

// Exports for the tests of package app_test.

// StoreIdle reports whether the store has nothing left to do until the
// service calls it: no history page in flight and no watcher left to tell.
func StoreIdle(s *Store) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.loads == 0 && len(s.dirty) == 0 && !s.inboxDirty && !s.delivering
}

var OrderRooms = orderRooms
