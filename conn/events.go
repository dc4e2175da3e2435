package conn

import "tether/conn/wire"

// Event is something that happened, handed to Next. The service turns port
// callbacks, results of its requests, timers and API calls into events; the
// machine is the only thing that decides what they mean.
type Event interface{ isEvent() }

// Started begins the service's life: the machine connects.
type Started struct{}

// TokenReady answers FetchToken.
type TokenReady struct {
	Req   uint64
	Token string
	Err   error
}

// Dialed answers Dial: the socket of generation Gen is open, or Err says why
// not.
type Dialed struct {
	Gen uint64
	Err error
}

// FrameReceived is one frame of the socket of generation Gen. Frame is nil
// and Err set when the frame did not decode; it still proves the link lives.
type FrameReceived struct {
	Gen   uint64
	Frame wire.Frame
	Err   error
}

// SocketClosed reports the end of the socket of generation Gen.
type SocketClosed struct {
	Gen    uint64
	Code   wire.CloseCode
	Reason string
}

// ProbeDone answers Probe: Err is nil when the server answered the ping.
type ProbeDone struct {
	Req uint64
	Err error
}

// PollDone answers Poll.
type PollDone struct {
	Req  uint64
	Room string
	Page wire.MessagesPage
	Err  error
}

// HistoryDone answers FetchHistory.
type HistoryDone struct {
	Req  uint64
	Room string
	Page wire.MessagesPage
	Err  error
}

// PostDone answers Post.
type PostDone struct {
	Req      uint64
	ClientID string
	Posted   wire.Posted
	Err      error
}

// TimerFired reports that the timer Timer, started with ID, ran out. A
// firing whose ID is not the timer's current one is stale and ignored.
type TimerFired struct {
	Timer TimerKind
	ID    uint64
}

// EnvChanged is a change of the network or of the page.
type EnvChanged struct {
	Event EnvEvent
}

// RoomWanted says the first subscriber of Room arrived. After, for a room
// the service holds no seq of yet, is where delivery starts: the caller read
// the messages up to it another way (a history page), so a first visit does
// not replay the whole room.
type RoomWanted struct {
	Room  string
	After int64
}

// RoomUnwanted says the last subscriber of Room left.
type RoomUnwanted struct {
	Room string
}

// SendRequested queues a message of the user in the outbox.
type SendRequested struct {
	Entry OutboxEntry
}

// RetryRequested asks to send a failed message again.
type RetryRequested struct {
	ClientID string
}

// DiscardRequested drops a message from the outbox, sent or not.
type DiscardRequested struct {
	ClientID string
}

// ReconnectRequested is ForceReconnect: skip the wait and connect now.
type ReconnectRequested struct{}

// CloseRequested ends the service.
type CloseRequested struct{}

func (Started) isEvent()            {}
func (TokenReady) isEvent()         {}
func (Dialed) isEvent()             {}
func (FrameReceived) isEvent()      {}
func (SocketClosed) isEvent()       {}
func (ProbeDone) isEvent()          {}
func (PollDone) isEvent()           {}
func (HistoryDone) isEvent()        {}
func (PostDone) isEvent()           {}
func (TimerFired) isEvent()         {}
func (EnvChanged) isEvent()         {}
func (RoomWanted) isEvent()         {}
func (RoomUnwanted) isEvent()       {}
func (SendRequested) isEvent()      {}
func (RetryRequested) isEvent()     {}
func (DiscardRequested) isEvent()   {}
func (ReconnectRequested) isEvent() {}
func (CloseRequested) isEvent()     {}
