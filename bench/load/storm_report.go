//go:build !wasm

package main

import (
	"fmt"
	"strings"
)

// stormMetric names the storm's row of the table with the run's counts.
func (r *results) stormMetric() string {
	clients, behind := "19,800", 20
	if st := r.Detail.Tether.Storm; st != nil {
		clients, behind = count(int64(st.Requested)), st.Behind
	}
	return fmt.Sprintf("reconnect storm: %s subscribed clients, server SIGKILLed and restarted, each room %d messages behind: "+
		"restarted server accepting → the last client has every message once and in order, s", clients, behind)
}

// invalid says why the figure was left out of the key; empty when
// it stands.
func (st *stormResult) invalid() string {
	if st.Valid {
		return ""
	}
	var why []string
	if st.CaughtUp < st.Clients {
		why = append(why, fmt.Sprintf("%d of %d clients caught up within %.0f s", st.CaughtUp, st.Clients, st.WaitSeconds))
	}
	if !st.AllResumed {
		why = append(why, fmt.Sprintf("%d of %d resumed", st.Resumed, st.Clients))
	}
	for _, c := range []struct {
		n    int64
		what string
	}{{st.Lost, "lost"}, {st.Doubled, "doubled"}, {st.OutOfOrder, "out of order"}, {st.Foreign, "not the messages written"}, {st.NotRecovered, "resumed without recovery"}} {
		if c.n > 0 {
			why = append(why, fmt.Sprintf("%d %s", c.n, c.what))
		}
	}
	return strings.Join(why, ", ")
}

// markdown is the storm's own table.
func (st *stormResult) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n| reconnect storm (tether): %s clients in %s rooms of two, %d messages behind each | |\n|---|---|\n",
		count(int64(st.Clients)), count(int64(st.Rooms)), st.Behind)
	fmt.Fprintf(&b, "| SIGKILL → restarted server accepting, s (of which writing the messages, s; restart command → accepting, s) | %.2f (%.2f; %.2f) |\n",
		st.DownSeconds, st.WriteSeconds, st.RestartSeconds)
	fmt.Fprintf(&b, "| accepting → last client caught up, s (from the restart command) | %s (%s) |\n",
		cell(st.CaughtUpSeconds, "%.2f"), cell(st.FromRestartCommandS, "%.2f"))
	fmt.Fprintf(&b, "| clients caught up: p50 / p99, s; the last resumed (welcomed, room subscribed), s | %.2f / %.2f; %.2f |\n",
		st.P50CaughtUpS, st.P99CaughtUpS, st.AllResumedSeconds)
	fmt.Fprintf(&b, "| p50 / p99 / max, s: the attempt that succeeded began (after accepting); it took to the welcome; welcome → caught up | %s; %s; %s |\n",
		triple(st.AttemptBeganS), triple(st.AttemptToWelcomeS), triple(st.WelcomeToCaughtUpS))
	fmt.Fprintf(&b, "| caught up; resumed; subscribed without recovery | %s; %s; %d |\n", count(int64(st.CaughtUp)), count(int64(st.Resumed)), st.NotRecovered)
	fmt.Fprintf(&b, "| messages lost; doubled; out of order; not the ones written | %d; %d; %d; %d |\n", st.Lost, st.Doubled, st.OutOfOrder, st.Foreign)
	fmt.Fprintf(&b, "| reconnect attempts (failed; at most by one client); closes by code | %s (%s; %d); %s |\n",
		count(st.ReconnectAttempts), count(st.FailedAttempts), st.MaxAttempts, formatCounts(st.ClosesByCode))
	fmt.Fprintf(&b, "| attempts failed after the restart, by cause; most descriptors the restarted server held | %s; %s |\n",
		formatCounts(st.FailuresAfterRestart), count(int64(st.MaxServerFDs)))
	fmt.Fprintf(&b, "| CPU, s: the restarted server until all caught up; the load generator from accepting | %.2f; %.2f |\n", st.ServerCPUSeconds, st.HarnessCPUSeconds)
	if why := st.invalid(); why != "" {
		fmt.Fprintf(&b, "| **the figure does not stand** | %s |\n", why)
	}
	return b.String()
}

// triple prints a p50, p99 and max.
func triple(x [3]float64) string { return fmt.Sprintf("%.2f / %.2f / %.2f", x[0], x[1], x[2]) }
