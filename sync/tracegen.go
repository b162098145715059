package sync

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
)

// streamSpec describes one synthetic stream of a generated trace. Times are
// nanoseconds.
type streamSpec struct {
	periodNS        int64
	phaseNS         int64   // first capture after the trace's start
	jitterNS        int64   // capture times jitter uniformly by ± this (< period/2)
	driftPPM        float64 // the stream's clock runs fast by this much
	dropP           float64 // each message is lost with this probability
	latencyNS       int64   // arrival = capture + latency + U(0, arrivalJitterNS)
	arrivalJitterNS int64
	burstNS         int64 // > 0: messages are delivered in bursts at multiples of this
	stopAtNS        int64 // > 0: the stream is silent from stopAt for stopFor
	stopForNS       int64
	startAtNS       int64 // the stream's first message is captured no earlier
}

// Scenario is a named kind of generated trace.
type Scenario struct {
	Name    string
	Summary string
	streams []streamSpec
}

const msNS = int64(1e6)

func cam(periodNS int64) streamSpec { return streamSpec{periodNS: periodNS, latencyNS: 2 * msNS} }

// Scenarios returns the generator's scenarios, in a fixed order.
func Scenarios() []Scenario {
	c30, m50 := cam(33333333), cam(20*msNS)
	jit := func(s streamSpec, j, aj int64) streamSpec { s.jitterNS, s.arrivalJitterNS = j, aj; return s }
	with := func(s streamSpec, f func(*streamSpec)) streamSpec { f(&s); return s }
	return []Scenario{
		{"basic", "30 Hz camera and 50 Hz audio chunks, small jitter", []streamSpec{jit(c30, msNS/2, msNS), jit(m50, msNS/4, msNS)}},
		{"jitter", "30 Hz + 50 Hz with ±8 ms capture jitter and 0-15 ms arrival jitter",
			[]streamSpec{jit(c30, 8*msNS, 15*msNS), jit(m50, 8*msNS, 15*msNS)}},
		{"offset", "two 30 Hz cameras 7 ms apart, plus 50 Hz audio", []streamSpec{jit(c30, msNS/2, msNS),
			with(jit(c30, msNS/2, msNS), func(s *streamSpec) { s.phaseNS = 7 * msNS }), jit(m50, msNS/4, msNS)}},
		{"drift", "30 Hz camera against 50 Hz audio whose clock runs 500 ppm fast",
			[]streamSpec{jit(c30, msNS/2, msNS), with(jit(m50, msNS/4, msNS), func(s *streamSpec) { s.driftPPM = 500 })}},
		{"drops", "30 Hz + 50 Hz + 15 Hz, each message lost with 10-25 % probability", []streamSpec{
			with(jit(c30, msNS, 2*msNS), func(s *streamSpec) { s.dropP = 0.1 }),
			with(jit(m50, msNS, 2*msNS), func(s *streamSpec) { s.dropP = 0.25 }),
			with(jit(cam(66666667), msNS, 2*msNS), func(s *streamSpec) { s.dropP = 0.15 })}},
		{"bursts", "30 Hz camera delivered steadily, 50 Hz audio delivered in 100 ms bursts",
			[]streamSpec{jit(c30, msNS/2, msNS), with(jit(m50, msNS/4, msNS), func(s *streamSpec) { s.burstNS = 100 * msNS })}},
		{"stop-resume", "30 Hz + 50 Hz; the camera stops for 3 s of every 10 s",
			[]streamSpec{with(jit(c30, msNS/2, msNS), func(s *streamSpec) { s.stopAtNS, s.stopForNS = 4000*msNS, 3000*msNS }), jit(m50, msNS/4, msNS)}},
		{"rates3", "three streams: 30 Hz, 50 Hz, 100 Hz", []streamSpec{jit(c30, msNS, 2*msNS), jit(m50, msNS/2, 2*msNS), jit(cam(10*msNS), msNS/2, 2*msNS)}},
		{"rates4", "four streams: 15 Hz, 30 Hz, 50 Hz, 100 Hz", []streamSpec{jit(cam(66666667), msNS, 2*msNS), jit(c30, msNS, 2*msNS),
			jit(m50, msNS/2, 2*msNS), jit(cam(10*msNS), msNS/2, 2*msNS)}},
		{"late", "30 Hz camera; 50 Hz audio arriving 120 ms late and starting 2 s after the camera", []streamSpec{jit(c30, msNS/2, msNS),
			with(jit(m50, msNS/4, 5*msNS), func(s *streamSpec) { s.latencyNS, s.startAtNS = 120*msNS, 2000*msNS })}},
	}
}

// ScenarioNames returns the scenarios' names.
func ScenarioNames() []string {
	var names []string
	for _, s := range Scenarios() {
		names = append(names, s.Name)
	}
	return names
}

// traceStartNS is where generated traces begin: 1000 s, well inside ROS time.
const traceStartNS = int64(1000e9)

type genEvent struct {
	arrival int64
	stream  int
	seq     int
	capture int64
}

// GenerateTrace makes about messages messages of the named scenario from
// seed. The same arguments always give the same trace. Each stream's
// timestamps increase; arrivals interleave the streams.
func GenerateTrace(name string, seed uint64, messages int) (*Trace, error) {
	i := slices.IndexFunc(Scenarios(), func(s Scenario) bool { return s.Name == name })
	if i < 0 {
		return nil, fmt.Errorf("unknown scenario %q (want one of %s)", name, strings.Join(ScenarioNames(), ", "))
	}
	if messages < 1 || messages > 100_000_000 {
		return nil, fmt.Errorf("message count %d is out of range 1..100000000", messages)
	}
	sc := Scenarios()[i]
	rng := rand.New(rand.NewPCG(seed, 0x7a11))
	// Duration that yields the message count, from the streams' rates.
	var perSec float64
	for _, s := range sc.streams {
		perSec += (1 - s.dropP) * 1e9 / float64(s.periodNS)
	}
	durNS := int64(float64(messages)/perSec*1e9) + 2e9
	var evs []genEvent
	for si, s := range sc.streams {
		var lastArrival int64
		for k := 0; ; k++ {
			nominal := s.phaseNS + int64(float64(int64(k)*s.periodNS)/(1+s.driftPPM*1e-6))
			if nominal > durNS {
				break
			}
			capture := traceStartNS + nominal
			if s.jitterNS > 0 {
				capture += rng.Int64N(2*s.jitterNS+1) - s.jitterNS
			}
			if s.dropP > 0 && rng.Float64() < s.dropP {
				continue
			}
			if nominal < s.startAtNS {
				continue
			}
			if s.stopForNS > 0 {
				cycle := nominal % (s.stopAtNS + s.stopForNS + 3000*msNS)
				if cycle >= s.stopAtNS && cycle < s.stopAtNS+s.stopForNS {
					continue
				}
			}
			arrival := capture + s.latencyNS
			if s.arrivalJitterNS > 0 {
				arrival += rng.Int64N(s.arrivalJitterNS + 1)
			}
			if s.burstNS > 0 {
				arrival = (arrival/s.burstNS + 1) * s.burstNS
			}
			arrival = max(arrival, lastArrival)
			lastArrival = arrival
			evs = append(evs, genEvent{arrival: arrival, stream: si, seq: k, capture: capture})
		}
	}
	slices.SortFunc(evs, func(a, b genEvent) int {
		return cmp.Or(cmp.Compare(a.arrival, b.arrival), cmp.Compare(a.stream, b.stream), cmp.Compare(a.seq, b.seq))
	})
	if len(evs) > messages {
		evs = evs[:messages]
	}
	t := &Trace{Streams: len(sc.streams), Events: make([]TraceEvent, len(evs))}
	for j, e := range evs {
		t.Events[j] = TraceEvent{Stream: e.stream, TimeNS: e.capture}
	}
	return t, nil
}
