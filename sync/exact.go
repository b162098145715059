package sync

import (
	"fmt"
	"slices"
)

// ExactConfig configures an Exact.
type ExactConfig struct {
	Streams   int // 2..9
	QueueSize int // timestamps waiting for their set, ≥ 1
}

type exactTuple struct {
	timeNS int64
	have   uint16
	m      [MaxApproxStreams]Member
}

// Exact is the ExactTime policy of ROS message_filters: a set is emitted
// when every stream has a message with the same timestamp. Incomplete
// timestamps at or before an emitted one are dropped, and beyond QueueSize
// waiting timestamps the oldest is dropped. It allocates nothing after
// construction.
type Exact struct {
	cfg    ExactConfig
	full   uint16
	tuples []exactTuple // sorted by time
	set    []Member
	emit   func([]Member)
	drop   func(int, Member)
	sets   uint64
	drops  [MaxApproxStreams]uint64
}

// NewExact returns the policy; emit and drop are as for NewApprox.
func NewExact(cfg ExactConfig, emit func(set []Member), drop func(stream int, m Member)) (*Exact, error) {
	if cfg.Streams < 2 || cfg.Streams > MaxApproxStreams {
		return nil, fmt.Errorf("%w: exact: %d streams, want 2..%d", ErrConfig, cfg.Streams, MaxApproxStreams)
	}
	if cfg.QueueSize < 1 || cfg.QueueSize > 1<<16 {
		return nil, fmt.Errorf("%w: exact: queue size %d is out of range 1..%d", ErrConfig, cfg.QueueSize, 1<<16)
	}
	return &Exact{cfg: cfg, full: 1<<cfg.Streams - 1, tuples: make([]exactTuple, 0, cfg.QueueSize+1),
		set: make([]Member, cfg.Streams), emit: emit, drop: drop}, nil
}

// Sets returns the number of sets emitted.
func (x *Exact) Sets() uint64 { return x.sets }

// Dropped returns how many messages of stream i will never be in a set.
func (x *Exact) Dropped(i int) uint64 { return x.drops[i] }

func (x *Exact) dropTuple(t *exactTuple) {
	for i := range x.cfg.Streams {
		if t.have&(1<<i) != 0 {
			x.drops[i]++
			if x.drop != nil {
				x.drop(i, t.m[i])
			}
		}
	}
}

// Add takes one message of stream i.
func (x *Exact) Add(i int, m Member) error {
	if i < 0 || i >= x.cfg.Streams {
		return ErrStream
	}
	k, found := slices.BinarySearchFunc(x.tuples, m.TimeNS, func(t exactTuple, ns int64) int {
		switch {
		case t.timeNS < ns:
			return -1
		case t.timeNS > ns:
			return 1
		}
		return 0
	})
	if !found {
		x.tuples = slices.Insert(x.tuples, k, exactTuple{timeNS: m.TimeNS})
	}
	t := &x.tuples[k]
	if t.have&(1<<i) != 0 { // replaced, as in ROS
		x.drops[i]++
		if x.drop != nil {
			x.drop(i, t.m[i])
		}
	}
	t.have |= 1 << i
	t.m[i] = m
	if t.have == x.full {
		copy(x.set, t.m[:x.cfg.Streams])
		x.sets++
		for j := range k {
			x.dropTuple(&x.tuples[j])
		}
		x.tuples = append(x.tuples[:0], x.tuples[k+1:]...)
		if x.emit != nil {
			x.emit(x.set)
		}
	}
	for len(x.tuples) > x.cfg.QueueSize {
		x.dropTuple(&x.tuples[0])
		x.tuples = append(x.tuples[:0], x.tuples[1:]...)
	}
	return nil
}
