package conn

// Settled reports whether the service has nothing left to do until the
// clock moves or a fake call returns: its queue is empty, its goroutine
// waits, and each of its port calls is one of the blocked ones the fakes
// count (blocked is conntest.Server.Blocked). It reads the counters twice
// so a call that ends between the reads is seen.
//
// It is for tests: this package's, and those of code built on the service
// (the chat store) that drive it with the conntest fakes and a fake clock,
// and must let it settle between clock steps instead of sleeping.
func Settled(s *Service, blocked func() int64) bool {
	r1, b1 := s.running.Load(), blocked()
	s.mu.Lock()
	quiet := s.idle && len(s.queue) == 0
	s.mu.Unlock()
	r2, b2 := s.running.Load(), blocked()
	return quiet && r1 == r2 && b1 == b2 && r1 == b1
}
