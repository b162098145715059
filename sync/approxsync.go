package sync

import (
	"cmp"
	"fmt"
	"slices"
)

// ApproxSyncConfig configures an ApproxSync.
type ApproxSyncConfig struct {
	ApproxConfig
	// MaxWaitNS: a stream that has sent nothing for this long (in arrival
	// time) is idle, and sets go on without it, marked missing, until it
	// sends again. 0: streams never idle (exactly ROS's behaviour).
	MaxWaitNS int64
}

// ApproxSync is Approx with deadlines: ROS ApproximateTime waits forever
// for a stream that stopped (its users' most common complaint); here a
// stream silent for MaxWaitNS of arrival time is marked idle, the policy
// goes on over the streams still sending, and their sets come out with the
// idle streams listed missing. A message from an idle stream makes it
// active again. Messages queued for a stream when it goes idle are dropped
// (they could only pair with sets already emitted).
//
// With no stream idle it emits exactly Approx's sets. It is a pure function
// of its inputs (messages with their arrival times, and Advance calls).
type ApproxSync struct {
	cfg     ApproxSyncConfig
	inner   *Approx
	outerOf []int // inner stream → outer stream
	active  uint16

	seen        uint16
	lastArrival [MaxApproxStreams]int64
	startNS     int64
	nowNS       int64
	started     bool

	set       []Member
	emit      func(set []Member, missing uint16)
	drop      func(stream int, m Member)
	scratch   []pendingMember
	rebuilt   uint64
	sets      uint64
	partial   uint64
	idleDrops [MaxApproxStreams]uint64
}

type pendingMember struct {
	stream int
	m      Member
}

// NewApproxSync returns the policy. emit gets each set, one member per
// stream, with a bit set in missing for each stream absent from it (its
// member is then zero). drop is as for NewApprox.
func NewApproxSync(cfg ApproxSyncConfig, emit func(set []Member, missing uint16), drop func(stream int, m Member)) (*ApproxSync, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.MaxWaitNS < 0 {
		return nil, fmt.Errorf("%w: approximate: max wait %d ns is negative", ErrConfig, cfg.MaxWaitNS)
	}
	s := &ApproxSync{cfg: cfg, set: make([]Member, cfg.Streams), emit: emit, drop: drop}
	s.active = 1<<cfg.Streams - 1
	if err := s.rebuild(); err != nil {
		return nil, err
	}
	return s, nil
}

// Sets returns the number of sets emitted, and how many of them had a
// stream missing.
func (s *ApproxSync) Sets() (all, partial uint64) { return s.sets, s.partial }

// Idle reports which streams are idle now, as a bit mask.
func (s *ApproxSync) Idle() uint16 { return (1<<s.cfg.Streams - 1) &^ s.active }

// Rebuilds returns how often the set of active streams changed.
func (s *ApproxSync) Rebuilds() uint64 { return s.rebuilt }

// IdleDropped returns how many messages of stream i were dropped because
// it went idle with them queued.
func (s *ApproxSync) IdleDropped(i int) uint64 { return s.idleDrops[i] }

// Add takes message m of stream i, which arrived at arrivalNS.
func (s *ApproxSync) Add(i int, m Member, arrivalNS int64) error {
	if i < 0 || i >= s.cfg.Streams {
		return ErrStream
	}
	if !s.started {
		s.started, s.startNS = true, arrivalNS
	}
	s.nowNS = max(s.nowNS, arrivalNS) // arrival time never goes back
	s.seen |= 1 << i
	s.lastArrival[i] = s.nowNS
	s.update()
	switch {
	case s.inner != nil:
		for j, o := range s.outerOf {
			if o == i {
				return s.inner.Add(j, m)
			}
		}
	default: // the only active stream: its messages go out alone
		s.emitPartial(i, m)
	}
	return nil
}

// Advance moves arrival time to nowNS with no message, so that streams
// that all stopped are still found idle.
func (s *ApproxSync) Advance(nowNS int64) {
	if !s.started || nowNS <= s.nowNS {
		return
	}
	s.nowNS = nowNS
	s.update()
}

// update recomputes which streams are active and rebuilds the policy when
// that changed.
func (s *ApproxSync) update() {
	if s.cfg.MaxWaitNS == 0 {
		return
	}
	var active uint16
	for i := range s.cfg.Streams {
		last := s.startNS
		if s.seen&(1<<i) != 0 {
			last = s.lastArrival[i]
		}
		if last+s.cfg.MaxWaitNS > s.nowNS {
			active |= 1 << i
		}
	}
	if active != s.active {
		s.active = active
		s.rebuilt++
		s.rebuild() // validated at construction: cannot fail
	}
}

// rebuild makes a fresh policy over the active streams and moves the
// messages queued for them into it, in timestamp order.
func (s *ApproxSync) rebuild() error {
	s.scratch = s.scratch[:0]
	if s.inner != nil {
		for j, o := range s.outerOf {
			q := &s.inner.q[j]
			for k := q.head; k != q.tail; k++ {
				s.scratch = append(s.scratch, pendingMember{o, q.at(k)})
			}
		}
	}
	s.inner, s.outerOf = nil, s.outerOf[:0]
	for i := range s.cfg.Streams {
		if s.active&(1<<i) != 0 {
			s.outerOf = append(s.outerOf, i)
		}
	}
	if len(s.outerOf) >= 2 {
		cfg := s.cfg.ApproxConfig
		cfg.Streams = len(s.outerOf)
		if cfg.LowerBoundsNS != nil {
			cfg.LowerBoundsNS = make([]int64, len(s.outerOf))
			for j, o := range s.outerOf {
				cfg.LowerBoundsNS[j] = s.cfg.LowerBoundsNS[o]
			}
		}
		inner, err := NewApprox(cfg, s.emitInner, s.dropInner)
		if err != nil {
			return err
		}
		s.inner = inner
	}
	slices.SortStableFunc(s.scratch, func(a, b pendingMember) int {
		return cmp.Or(cmp.Compare(a.m.TimeNS, b.m.TimeNS), cmp.Compare(a.stream, b.stream))
	})
	for _, p := range s.scratch {
		switch {
		case s.active&(1<<p.stream) == 0:
			s.idleDrops[p.stream]++
			if s.drop != nil {
				s.drop(p.stream, p.m)
			}
		case s.inner == nil:
			s.emitPartial(p.stream, p.m)
		default:
			j := slices.Index(s.outerOf, p.stream)
			s.inner.Add(j, p.m)
		}
	}
	return nil
}

func (s *ApproxSync) missing() uint16 { return (1<<s.cfg.Streams - 1) &^ s.active }

func (s *ApproxSync) emitInner(set []Member) {
	clear(s.set)
	for j, m := range set {
		s.set[s.outerOf[j]] = m
	}
	miss := s.missing()
	s.sets++
	if miss != 0 {
		s.partial++
	}
	if s.emit != nil {
		s.emit(s.set, miss)
	}
}

func (s *ApproxSync) emitPartial(i int, m Member) {
	clear(s.set)
	s.set[i] = m
	s.sets++
	s.partial++
	if s.emit != nil {
		s.emit(s.set, (1<<s.cfg.Streams-1)&^(1<<i))
	}
}

func (s *ApproxSync) dropInner(j int, m Member) {
	if s.drop != nil {
		s.drop(s.outerOf[j], m)
	}
}
