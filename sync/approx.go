package sync

import (
	"errors"
	"fmt"
	"math"
)

// Member is one message of an approximate set: its timestamp and an id the
// caller chose (an index into its own table of samples).
type Member struct {
	TimeNS int64
	ID     uint64
}

// MaxApproxStreams is the most streams one Approx aligns (as in ROS).
const MaxApproxStreams = 9

// ApproxConfig configures an Approx. The defaults of ROS message_filters are
// QueueSize 10 (the C++ constructor argument), AgePenalty 0.1 and no
// maximum interval.
type ApproxConfig struct {
	Streams    int     // 2..9
	QueueSize  int     // messages kept per stream, ≥ 1
	AgePenalty float64 // ≥ 0: how much later sets are penalised against earlier ones
	// MaxIntervalNS bounds the spread of a set's timestamps; 0 means no
	// bound.
	MaxIntervalNS int64
	// LowerBoundsNS are per-stream lower bounds of the interval between two
	// messages (nil or 0: none). They let a set be proven optimal before
	// the next message of a slow stream arrives.
	LowerBoundsNS []int64
	// LearnLowerBounds sets each stream's lower bound, where none is
	// configured, to half the shortest interval seen so far. Sets then come
	// out sooner; they may differ from the C++ original's.
	LearnLowerBounds bool
}

func (c ApproxConfig) validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: approximate: "+format, append([]any{ErrConfig}, args...)...)
	}
	switch {
	case c.Streams < 2 || c.Streams > MaxApproxStreams:
		return bad("%d streams, want 2..%d", c.Streams, MaxApproxStreams)
	case c.QueueSize < 1 || c.QueueSize > 1<<20:
		return bad("queue size %d is out of range 1..%d", c.QueueSize, 1<<20)
	case !(c.AgePenalty >= 0) || math.IsInf(c.AgePenalty, 0):
		return bad("age penalty %v is not a finite number ≥ 0", c.AgePenalty)
	case c.MaxIntervalNS < 0:
		return bad("max interval %d ns is negative", c.MaxIntervalNS)
	case c.LowerBoundsNS != nil && len(c.LowerBoundsNS) != c.Streams:
		return bad("%d lower bounds for %d streams", len(c.LowerBoundsNS), c.Streams)
	}
	for i, b := range c.LowerBoundsNS {
		if b < 0 {
			return bad("lower bound of stream %d is negative", i)
		}
	}
	return nil
}

// ErrStream is returned for a stream index out of range.
var ErrStream = errors.New("sync: stream index out of range")

// approxQueue is one stream's ROS deque and "past" vector in one ring:
// buf[head:cur] is the past (messages moved out of the deque while a
// candidate is improved), buf[cur:tail] the deque. Moving the deque's front
// to the past is cur++, recovering the past is cur = head.
type approxQueue struct {
	buf               []Member
	mask              uint64
	head, cur, tail   uint64
	lowerNS           int64
	lowerFixed        bool
	hasDropped        bool
	lastNS, minGapNS  int64
	seen              bool
	dropped, outOrder uint64
}

func (q *approxQueue) at(i uint64) Member { return q.buf[i&q.mask] }
func (q *approxQueue) front() int64       { return q.buf[q.cur&q.mask].TimeNS }
func (q *approxQueue) dequeLen() uint64   { return q.tail - q.cur }

// Approx is the ApproximateTime policy of ROS message_filters, ported
// operation for operation from the C++ original
// (sync_policies/approximate_time.h, including ros::Duration's rounding of
// the age penalty product), so that on the same input it emits exactly the
// same sets. It allocates nothing after construction.
//
// It is a pure function of the sequence of Add calls. It reads no clock;
// deadlines and idle streams are the business of the stage around it.
type Approx struct {
	cfg      ApproxConfig
	n        int
	scale    float64
	maxIvl   int64
	q        [MaxApproxStreams]approxQueue
	nonEmpty int

	pivot                int // -1: no pivot (and no candidate)
	pivotNS              int64
	candStart, candEnd   int64
	emit                 func(set []Member)
	drop                 func(stream int, m Member)
	set                  []Member
	moves                [MaxApproxStreams]uint64
	sets, dropped, added uint64
}

// NewApprox returns the policy. emit is called with each set, one member
// per stream in stream order; the slice is reused after emit returns. drop,
// which may be nil, is called with each message that will never be part of
// a set (evicted by the queue size, or passed over).
func NewApprox(cfg ApproxConfig, emit func(set []Member), drop func(stream int, m Member)) (*Approx, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	a := &Approx{cfg: cfg, n: cfg.Streams, scale: 1 + cfg.AgePenalty, maxIvl: math.MaxInt64,
		pivot: -1, emit: emit, drop: drop, set: make([]Member, cfg.Streams)}
	if cfg.MaxIntervalNS > 0 {
		a.maxIvl = cfg.MaxIntervalNS
	}
	size := uint64(4)
	for size < uint64(cfg.QueueSize)+2 {
		size <<= 1
	}
	for i := range a.n {
		q := &a.q[i]
		q.buf = make([]Member, size)
		q.mask = size - 1
		if cfg.LowerBoundsNS != nil && cfg.LowerBoundsNS[i] > 0 {
			q.lowerNS, q.lowerFixed = cfg.LowerBoundsNS[i], true
		}
	}
	return a, nil
}

// Streams returns the number of streams aligned.
func (a *Approx) Streams() int { return a.n }

// Sets returns the number of sets emitted so far.
func (a *Approx) Sets() uint64 { return a.sets }

// Dropped returns how many messages of stream i will never be in a set.
func (a *Approx) Dropped(i int) uint64 { return a.q[i].dropped }

// OutOfOrder returns how many messages of stream i came with a timestamp
// before the previous one (ROS warns about them and keeps them; so does
// Approx, to stay identical).
func (a *Approx) OutOfOrder(i int) uint64 { return a.q[i].outOrder }

// LowerBoundNS returns stream i's inter-message lower bound in use.
func (a *Approx) LowerBoundNS(i int) int64 { return a.q[i].lowerNS }

// Add takes one message of stream i (ROS's add<i>).
func (a *Approx) Add(i int, m Member) error {
	if i < 0 || i >= a.n {
		return ErrStream
	}
	a.added++
	q := &a.q[i]
	if q.seen {
		if m.TimeNS < q.lastNS {
			q.outOrder++
		} else if a.cfg.LearnLowerBounds && !q.lowerFixed {
			gap := m.TimeNS - q.lastNS
			if q.minGapNS == 0 || (gap > 0 && gap < q.minGapNS) {
				q.minGapNS = gap
				q.lowerNS = gap / 2
			}
		}
	}
	q.seen, q.lastNS = true, m.TimeNS
	q.buf[q.tail&q.mask] = m
	q.tail++
	if q.dequeLen() == 1 {
		a.nonEmpty++
		if a.nonEmpty == a.n {
			a.process()
		}
	}
	if q.tail-q.head > uint64(a.cfg.QueueSize) {
		a.recoverAll()
		// deque.pop_front(): the past is empty now.
		a.dropMember(i, q.at(q.head))
		q.head++
		q.cur = q.head
		q.hasDropped = true
		if a.pivot >= 0 {
			a.pivot = -1
			a.process()
		}
	}
	return nil
}

func (a *Approx) dropMember(i int, m Member) {
	a.q[i].dropped++
	a.dropped++
	if a.drop != nil {
		a.drop(i, m)
	}
}

// countNonEmpty recomputes num_non_empty_deques_ from scratch.
func (a *Approx) countNonEmpty() {
	n := 0
	for i := range a.n {
		if a.q[i].cur != a.q[i].tail {
			n++
		}
	}
	a.nonEmpty = n
}

func (a *Approx) recoverAll() {
	for i := range a.n {
		a.q[i].cur = a.q[i].head
	}
	a.countNonEmpty()
}

// deleteFront is dequeDeleteFront: the deque's front is dropped.
func (a *Approx) deleteFront(i int) {
	q := &a.q[i]
	a.dropMember(i, q.at(q.cur))
	// Shift the past (empty whenever ROS gets here) over the hole.
	for j := q.cur; j > q.head; j-- {
		q.buf[j&q.mask] = q.buf[(j-1)&q.mask]
	}
	q.head++
	q.cur++
	if q.cur == q.tail {
		a.nonEmpty--
	}
}

func (a *Approx) moveFrontToPast(i int) {
	q := &a.q[i]
	q.cur++
	if q.cur == q.tail {
		a.nonEmpty--
	}
}

// makeCandidate takes the deques' fronts as the candidate and forgets the
// past: those messages were passed over for good.
func (a *Approx) makeCandidate() {
	for i := range a.n {
		q := &a.q[i]
		for q.head != q.cur {
			a.dropMember(i, q.at(q.head))
			q.head++
		}
	}
}

func (a *Approx) publish() {
	for i := range a.n {
		q := &a.q[i]
		a.set[i] = q.at(q.head)
		q.head++
		q.cur = q.head
	}
	a.pivot = -1
	a.countNonEmpty()
	a.sets++
	if a.emit != nil {
		a.emit(a.set)
	}
}

// bounds returns the end (the last stream holding the latest front) and the
// start (the first stream holding the earliest front) of the deques' fronts.
func (a *Approx) bounds() (endI int, endT int64, startI int, startT int64) {
	endT = a.q[0].front()
	startT = endT
	for i := 1; i < a.n; i++ {
		t := a.q[i].front()
		if t >= endT {
			endT, endI = t, i
		}
		if t < startT {
			startT, startI = t, i
		}
	}
	return
}

// virtualTime is getVirtualTime: the front's time, or for an empty deque
// the earliest time its next message can have.
func (a *Approx) virtualTime(i int) int64 {
	q := &a.q[i]
	if q.cur != q.tail {
		return q.front()
	}
	if q.cur == q.head { // ROS asserts this cannot happen
		return a.pivotNS
	}
	lb := addSat(q.at(q.cur-1).TimeNS, q.lowerNS)
	if lb > a.pivotNS {
		return lb
	}
	return a.pivotNS
}

func (a *Approx) virtualBounds() (endI int, endT int64, startI int, startT int64) {
	endT = a.virtualTime(0)
	startT = endT
	for i := 1; i < a.n; i++ {
		t := a.virtualTime(i)
		if t >= endT {
			endT, endI = t, i
		}
		if t < startT {
			startT, startI = t, i
		}
	}
	return
}

// aged is ros::Duration(d) * (1 + age_penalty): through seconds as a double
// and back, rounded as ros::Duration::fromSec rounds.
func (a *Approx) aged(d int64) int64 { return rosScale(d, a.scale) }

func (a *Approx) process() {
	for a.nonEmpty == a.n {
		endI, endT, startI, startT := a.bounds()
		for i := range a.n {
			if i != endI {
				a.q[i].hasDropped = false
			}
		}
		if a.pivot < 0 {
			if subSat(endT, startT) > a.maxIvl || a.q[endI].hasDropped {
				a.deleteFront(startI)
				continue
			}
			a.makeCandidate()
			a.candStart, a.candEnd = startT, endT
			a.pivot, a.pivotNS = endI, endT
			a.moveFrontToPast(startI)
		} else {
			if a.aged(subSat(endT, a.candEnd)) < subSat(startT, a.candStart) {
				a.makeCandidate()
				a.candStart, a.candEnd = startT, endT
			}
			a.moveFrontToPast(startI)
		}
		switch {
		case startI == a.pivot:
			a.publish()
		case a.aged(subSat(endT, a.candEnd)) >= subSat(a.pivotNS, a.candStart):
			a.publish()
		case a.nonEmpty < a.n:
			a.virtualSearch()
		}
	}
}

func (a *Approx) virtualSearch() {
	clear(a.moves[:a.n])
	for {
		_, endT, startI, startT := a.virtualBounds()
		aged := a.aged(subSat(endT, a.candEnd))
		if aged >= subSat(a.pivotNS, a.candStart) {
			a.publish()
			return
		}
		q := &a.q[startI]
		if aged < subSat(startT, a.candStart) || q.cur == q.tail {
			// (An empty deque at the start is an assertion failure in ROS;
			// it cannot happen with in-order input. Undo and wait.)
			for i := range a.n {
				a.q[i].cur -= a.moves[i]
			}
			a.countNonEmpty()
			return
		}
		a.moveFrontToPast(startI)
		a.moves[startI]++
	}
}

// rosScale computes ros::Duration(d ns) * scale exactly as rostime does:
// toSec() (sec + 1e-9*nsec as doubles), a double product, then fromSec()
// (floor for the seconds, round-half-away for the nanoseconds).
func rosScale(d int64, scale float64) int64 {
	sec := d / 1e9
	nsec := d % 1e9
	if nsec < 0 {
		nsec += 1e9
		sec--
	}
	s := float64(sec) + float64(1e-9*float64(nsec)) // no FMA: rounded as in C++
	v := s * scale
	f := math.Floor(v)
	if !(f >= math.MinInt32 && f <= math.MaxInt32) {
		// rostime throws here; saturate instead.
		if v > 0 {
			return math.MaxInt64
		}
		return math.MinInt64
	}
	isec := int64(f)
	x := (v - f) * 1e9
	var r float64
	switch {
	case x > -0.5 && x < 0.5:
		r = 0
	case x > 0:
		c := math.Ceil(x)
		if 0.5 < c-x {
			r = c - 1
		} else {
			r = c
		}
	default:
		fl := math.Floor(x)
		if 0.5 < x-fl {
			r = fl + 1
		} else {
			r = fl
		}
	}
	return isec*1e9 + int64(int32(r))
}

func subSat(a, b int64) int64 {
	d := a - b
	if (a >= 0) != (b >= 0) && (d >= 0) != (a >= 0) {
		if a >= 0 {
			return math.MaxInt64
		}
		return math.MinInt64
	}
	return d
}

func addSat(a, b int64) int64 {
	s := a + b
	if (a >= 0) == (b >= 0) && (s >= 0) != (a >= 0) {
		if a >= 0 {
			return math.MaxInt64
		}
		return math.MinInt64
	}
	return s
}

// Pending returns how many messages of stream i are queued.
func (a *Approx) Pending(i int) uint64 { return a.q[i].tail - a.q[i].head }
