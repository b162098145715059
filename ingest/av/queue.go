package av

import (
	"context"
	"fmt"
	"sort"
	"sync"
)

// Overflow says what a Queue does when it is full.
type Overflow int

const (
	// DropOldest drops the oldest queued value to make room, and counts it.
	// Live capture uses it: a sensor must never wait for the pipeline.
	DropOldest Overflow = iota
	// Block waits for room. Replay uses it: replay is lossless.
	Block
)

func (o Overflow) String() string {
	switch o {
	case DropOldest:
		return "drop-oldest"
	case Block:
		return "block"
	}
	return fmt.Sprintf("Overflow(%d)", int(o))
}

// ParseOverflow reads an Overflow from its String form.
func ParseOverflow(s string) (Overflow, error) {
	switch s {
	case "drop-oldest":
		return DropOldest, nil
	case "block":
		return Block, nil
	}
	return 0, fmt.Errorf("unknown overflow policy %q (want drop-oldest or block)", s)
}

// Queue is a bounded channel between two stages, with a name, a capacity and
// an overflow policy. One goroutine sends and closes; any number receive from
// C.
type Queue[T any] struct {
	Name   string
	ch     chan T
	policy Overflow
	onDrop func(T)
}

// NewQueue returns a queue of the given capacity. onDrop is called with each
// value the queue drops (to count it and release its buffers); it may be nil
// for a Block queue.
func NewQueue[T any](name string, capacity int, policy Overflow, onDrop func(T)) *Queue[T] {
	if capacity < 1 {
		capacity = 1
	}
	return &Queue[T]{Name: name, ch: make(chan T, capacity), policy: policy, onDrop: onDrop}
}

// Send queues v. With DropOldest it never blocks; with Block it waits for
// room or for ctx, and returns ctx's error if ctx ends first (v is then not
// queued and still belongs to the caller).
func (q *Queue[T]) Send(ctx context.Context, v T) error {
	if q.policy == Block {
		select {
		case q.ch <- v:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	for {
		select {
		case q.ch <- v:
			return nil
		default:
		}
		select {
		case old := <-q.ch:
			if q.onDrop != nil {
				q.onDrop(old)
			}
		default:
		}
	}
}

// C returns the channel to receive from.
func (q *Queue[T]) C() <-chan T { return q.ch }

// Len returns the number of values queued now.
func (q *Queue[T]) Len() int { return len(q.ch) }

// Cap returns the queue's capacity.
func (q *Queue[T]) Cap() int { return cap(q.ch) }

// Close tells receivers that nothing more will be sent.
func (q *Queue[T]) Close() { close(q.ch) }

// DropReason says why a value was dropped.
type DropReason string

// Reasons for drops, as counted and published.
const (
	DropQueueFull     DropReason = "queue_full"     // a DropOldest queue overflowed
	DropShutdown      DropReason = "shutdown"       // still queued when the drain timeout passed
	DropLate          DropReason = "late"           // arrived after its bundle was emitted
	DropOutOfOrder    DropReason = "out_of_order"   // capture time went backwards within a stream
	DropSinkError     DropReason = "sink_error"     // a sink refused it
	DropWrongKind     DropReason = "wrong_kind"     // a sample of the wrong kind or shape for its stream
	DropUnknownStream DropReason = "unknown_stream" // a sample of a stream nothing consumes
	DropHeadError     DropReason = "head_error"     // a decision step the fusion head failed (stream "decisions")
	DropBackendError  DropReason = "backend_error"  // a bundle whose features the backend failed to compute (stream "bundles")
)

// DropKey identifies one drop counter.
type DropKey struct {
	Stream StreamID
	Reason DropReason
}

// DropCount is one counter's value.
type DropCount struct {
	Stream StreamID   `json:"stream"`
	Reason DropReason `json:"reason"`
	Count  uint64     `json:"count"`
}

// Drops counts dropped values per stream and reason. It is safe for
// concurrent use.
type Drops struct {
	mu sync.Mutex
	m  map[DropKey]uint64
}

// NewDrops returns an empty set of counters.
func NewDrops() *Drops { return &Drops{m: make(map[DropKey]uint64)} }

// Add counts n drops.
func (d *Drops) Add(stream StreamID, reason DropReason, n uint64) {
	d.mu.Lock()
	d.m[DropKey{stream, reason}] += n
	d.mu.Unlock()
}

// Declare makes the counters of stream for reasons exist (at zero if
// new), so that snapshots, the status and the metrics show every counter
// that can move before its first drop: an alert can tell "no drops" from
// "not counted".
func (d *Drops) Declare(stream StreamID, reasons ...DropReason) {
	d.mu.Lock()
	for _, r := range reasons {
		k := DropKey{stream, r}
		d.m[k] += 0
	}
	d.mu.Unlock()
}

// Get returns one counter.
func (d *Drops) Get(stream StreamID, reason DropReason) uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.m[DropKey{stream, reason}]
}

// Snapshot returns every counter, sorted by stream then reason.
func (d *Drops) Snapshot() []DropCount {
	d.mu.Lock()
	out := make([]DropCount, 0, len(d.m))
	for k, n := range d.m {
		out = append(out, DropCount{Stream: k.Stream, Reason: k.Reason, Count: n})
	}
	d.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Stream != out[j].Stream {
			return out[i].Stream < out[j].Stream
		}
		return out[i].Reason < out[j].Reason
	})
	return out
}
