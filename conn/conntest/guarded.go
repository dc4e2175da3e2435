package conntest

import "sync"

// setGuarded stores v in *field while holding mu. The fakes' switches are
// set by the test goroutine and read by the service's, so every one of them
// is written this way.
func setGuarded[T any](mu *sync.Mutex, field *T, v T) {
	mu.Lock()
	defer mu.Unlock()
	*field = v
}

// appendGuarded appends vs to *list while holding mu, as setGuarded does
// for the queues of answers a fake gives next.
func appendGuarded[T any](mu *sync.Mutex, list *[]T, vs ...T) {
	mu.Lock()
	defer mu.Unlock()
	*list = append(*list, vs...)
}
