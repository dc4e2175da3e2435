package conn

import "time"

// Config tunes the service. Zero values take the defaults of the design; the
// first eight options are the original service's, kept. The original's two
// booleans EnableFallbackPolling and EnableNetworkDetection default to true,
// so they appear here inverted (DisableFallbackPolling,
// DisableNetworkDetection): the zero Config is the default one.
type Config struct {
	// MaxReconnectAttempts is how many WebSocket attempts the backoff makes
	// before the service tries polling once more, then goes suspended
	// (default 10). It never gives up for good.
	MaxReconnectAttempts int
	// BaseReconnectDelay is the first backoff step; it doubles each attempt
	// (default 1 s).
	BaseReconnectDelay time.Duration
	// MaxReconnectDelay caps the backoff, and is the steady retry delay while
	// suspended (default 30 s).
	MaxReconnectDelay time.Duration
	// HeartbeatInterval is how long the link may stay silent while the page
	// is visible before it counts as dead (default 15 s).
	HeartbeatInterval time.Duration
	// ConnectionTimeout bounds a connection attempt: the token, the dial and
	// the welcome (default 10 s). It also bounds probes and history pages.
	ConnectionTimeout time.Duration
	// QualityCheckInterval is the ping cadence while visible (default 5 s).
	QualityCheckInterval time.Duration
	// HiddenPingInterval is the first ping cadence while the page is
	// hidden when the server announced no heartbeat (default four times
	// QualityCheckInterval: a quarter of the visible pace); with one, the
	// pace starts from the welcome's heartbeat_ms. Each answered hidden
	// ping stretches the pace by half, up to HiddenPingMax and to twice
	// the server's heartbeat (past that the server pings a silent socket
	// itself: waiting longer saves nothing). A link dropped while hidden
	// halves that ceiling for the rest of the service's life: the network
	// keeps less open than it was given. A ping a hidden page sent that
	// has no pong by the next one means the link is dead.
	HiddenPingInterval time.Duration
	// HiddenPingMax bounds the hidden pace (default 60 s).
	HiddenPingMax time.Duration
	// DisableFallbackPolling keeps the service on WebSocket only (the
	// original's EnableFallbackPolling: false).
	DisableFallbackPolling bool
	// DisableNetworkDetection ignores the browser's online and offline
	// events (the original's EnableNetworkDetection: false).
	DisableNetworkDetection bool

	// Jitter spreads the backoff delays (default JitterEqual).
	Jitter Jitter
	// PollInterval is the short-poll cadence, used when long polls fail
	// (default 3 s).
	PollInterval time.Duration
	// WebSocketRestoreInterval is how often WebSocket is tried again while
	// polling (default 30 s); online and visible events try at once.
	WebSocketRestoreInterval time.Duration

	// LongPollWait is the wait of a long poll (default 25 s, at most 30 s).
	LongPollWait time.Duration
	// StableAfter is how long a connection must last before the attempt
	// counter resets (default 10 s).
	StableAfter time.Duration
	// AckTimeout is how long a sent message waits for its ack before it is
	// sent again (default 10 s).
	AckTimeout time.Duration
	// MaxSendAttempts is how many unanswered sends make a message failed
	// (default 5). The user can Retry it.
	MaxSendAttempts int
}

// Jitter is how the backoff delay is randomised.
type Jitter int

// Jitter modes.
const (
	// JitterEqual keeps half the delay fixed and draws the other half at
	// random: spread, yet never much shorter than the step.
	JitterEqual Jitter = iota
	// JitterFull draws the whole delay at random in [0, step).
	JitterFull
	// JitterNone uses the step as it is (tests, tools).
	JitterNone
)

// The defaults of the design.
const (
	DefaultMaxReconnectAttempts     = 10
	DefaultBaseReconnectDelay       = time.Second
	DefaultMaxReconnectDelay        = 30 * time.Second
	DefaultHeartbeatInterval        = 15 * time.Second
	DefaultConnectionTimeout        = 10 * time.Second
	DefaultQualityCheckInterval     = 5 * time.Second
	DefaultPollInterval             = 3 * time.Second
	DefaultWebSocketRestoreInterval = 30 * time.Second
	DefaultLongPollWait             = 25 * time.Second
	DefaultStableAfter              = 10 * time.Second
	DefaultAckTimeout               = 10 * time.Second
	DefaultHiddenPingMax            = 60 * time.Second
	DefaultMaxSendAttempts          = 5
)

// FirstRetryWindow is where the first retry after a drop lands: at a random
// moment in [0, FirstRetryWindow), so a server restart is not met by every
// client at once, yet the user barely notices.
const FirstRetryWindow = 500 * time.Millisecond

// withDefaults returns c with every zero value replaced by its default.
func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if c.MaxReconnectAttempts <= 0 {
		c.MaxReconnectAttempts = DefaultMaxReconnectAttempts
	}
	def(&c.BaseReconnectDelay, DefaultBaseReconnectDelay)
	def(&c.MaxReconnectDelay, DefaultMaxReconnectDelay)
	c.MaxReconnectDelay = max(c.MaxReconnectDelay, c.BaseReconnectDelay)
	def(&c.HeartbeatInterval, DefaultHeartbeatInterval)
	def(&c.ConnectionTimeout, DefaultConnectionTimeout)
	def(&c.QualityCheckInterval, DefaultQualityCheckInterval)
	def(&c.HiddenPingInterval, 4*c.QualityCheckInterval)
	def(&c.HiddenPingMax, DefaultHiddenPingMax)
	c.HiddenPingMax = max(c.HiddenPingMax, c.HiddenPingInterval)
	def(&c.PollInterval, DefaultPollInterval)
	def(&c.WebSocketRestoreInterval, DefaultWebSocketRestoreInterval)
	def(&c.LongPollWait, DefaultLongPollWait)
	c.LongPollWait = min(c.LongPollWait, 30*time.Second)
	def(&c.StableAfter, DefaultStableAfter)
	def(&c.AckTimeout, DefaultAckTimeout)
	if c.MaxSendAttempts <= 0 {
		c.MaxSendAttempts = DefaultMaxSendAttempts
	}
	if c.Jitter < JitterEqual || c.Jitter > JitterNone {
		c.Jitter = JitterEqual
	}
	return c
}
