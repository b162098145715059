package sinks

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// needsCheck: decisions read back from the outbox files wait for the log
// to say which it holds.
func (s *JetStreamSink) needsCheck() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.verified
}

// checkRecovered looks the decisions read back at start up in the log:
// those it holds are dropped from the outbox, the rest are sent again
// (first, in order). On failure (no answer yet) it leaves them waiting;
// the resender tries again.
//
// Only this robot's outboxes publish on the log's subjects, in the order
// they append, so a read-back decision that was stored is among the last
// (decisions in the outbox files + window) messages of the log: they are
// read, headers only, and their Nats-Msg-Id compared. This holds after
// the stream's duplicate window has passed, when a re-send would be
// stored twice.
func (s *JetStreamSink) checkRecovered() {
	s.mu.Lock()
	n := 0
	for _, e := range s.pending {
		if e.recovered {
			n++
		}
	}
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ids, err := storedIDs(ctx, s.nc, s.cfg.Domain, s.cfg.Stream, uint64(n+s.cfg.Window+16))
	if err != nil {
		s.cfg.Log.Warn("outbox: decision log not readable yet; decisions of an earlier run wait", "err", err)
		return
	}
	s.mu.Lock()
	skipped := 0
	kept := s.queue[:0]
	for _, id := range s.queue {
		e := s.pending[id]
		if e != nil && e.recovered && ids[e.msg.Header.Get(nats.MsgIdHdr)] {
			s.remove(id, e)
			skipped++
			continue
		}
		kept = append(kept, id)
	}
	s.queue = kept
	s.verified = true
	s.afterRemove()
	next := s.pump(nil)
	s.mu.Unlock()
	s.publishAll(next)
	s.alreadyStored.Add(uint64(skipped))
	s.cfg.Log.Info("outbox: decisions of an earlier run checked against the log",
		"already_stored", skipped, "resent", n-skipped)
}

// storedIDs returns the Nats-Msg-Id of the last n messages of stream (all
// of it if shorter). A stream that does not exist holds none.
func storedIDs(ctx context.Context, nc *nats.Conn, domain, stream string, n uint64) (map[string]bool, error) {
	var js jetstream.JetStream
	var err error
	if domain != "" {
		js, err = jetstream.NewWithDomain(nc, domain)
	} else {
		js, err = jetstream.New(nc)
	}
	if err != nil {
		return nil, err
	}
	ids := map[string]bool{}
	st, err := js.Stream(ctx, stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return ids, nil
	}
	if err != nil {
		return nil, fmt.Errorf("decision log %s: %w", stream, err)
	}
	state := st.CachedInfo().State
	if state.Msgs == 0 {
		return ids, nil
	}
	start := state.FirstSeq
	if state.LastSeq >= n && state.LastSeq-n+1 > start {
		start = state.LastSeq - n + 1
	}
	cons, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: start, HeadersOnly: true,
	})
	if err != nil {
		return nil, fmt.Errorf("decision log %s: %w", stream, err)
	}
	next := start // the next seq wanted
	for next <= state.LastSeq {
		// Ask for no more than is left: the batch ends with the last
		// message, and its fetch with it.
		batch, err := cons.Fetch(int(min(state.LastSeq-next+1, 1024)), jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			return nil, fmt.Errorf("decision log %s: %w", stream, err)
		}
		got := 0
		for m := range batch.Messages() {
			got++
			ids[m.Headers().Get(nats.MsgIdHdr)] = true
			if md, err := m.Metadata(); err == nil {
				next = md.Sequence.Stream + 1
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
			return nil, fmt.Errorf("decision log %s: %w", stream, err)
		}
		if got == 0 {
			return nil, fmt.Errorf("decision log %s: read up to seq %d, not %d", stream, next-1, state.LastSeq)
		}
	}
	return ids, nil
}
