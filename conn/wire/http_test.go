package wire_test

import (
	"math"
	"strconv"
	"testing"
	"time"

	"tether/conn/wire"
)

func TestPollPath(t *testing.T) {
	t.Parallel()
	type poll struct {
		room  string
		since int64
		wait  time.Duration
		limit int
	}
	assertEach(t, func(p poll) string { return wire.PollPath(p.room, p.since, p.wait, p.limit) }, []valueCase[poll, string]{
		{"a short poll names only since", poll{"r1", 4, 0, 0}, "/api/rooms/r1/messages?since=4"},
		{"a long poll waits whole seconds, rounded up", poll{"r1", 0, 1500 * time.Millisecond, 0}, "/api/rooms/r1/messages?since=0&wait=2"},
		{"a limit is named when set", poll{"r1", 7, 25 * time.Second, 50}, "/api/rooms/r1/messages?limit=50&since=7&wait=25"},
		{"the room is escaped as a path segment", poll{"a b", 0, 0, 0}, "/api/rooms/a%20b/messages?since=0"},
	})
}

func TestHistoryPath(t *testing.T) {
	t.Parallel()
	type page struct {
		before int64
		limit  int
	}
	assertEach(t, func(p page) string { return wire.HistoryPath("r1", p.before, p.limit) }, []valueCase[page, string]{
		{"a page before a seq", page{12, 5}, "/api/rooms/r1/messages?before=12&limit=5"},
		{"before 0 reads from the newest message", page{0, 0}, "/api/rooms/r1/messages?before=" + strconv.FormatInt(math.MaxInt64, 10)},
		{"a negative before reads from the newest too", page{-1, 3}, "/api/rooms/r1/messages?before=" + strconv.FormatInt(math.MaxInt64, 10) + "&limit=3"},
	})
}
