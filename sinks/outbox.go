package sinks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/seed-4c364652/fusiond/ingest/av"
)

// Errors of the JetStream sink.
var (
	// ErrOversize: the message is larger than the server's max payload.
	ErrOversize = errors.New("larger than the server's max payload")
	// ErrClosed: the sink was closed.
	ErrClosed = errors.New("sink closed")
	// ErrOutboxFull: the outbox stayed full until the write's context
	// ended (the server down at shutdown); the decision is not kept.
	ErrOutboxFull = errors.New("outbox full")
)

// OutboxConfig configures a JetStreamSink.
type OutboxConfig struct {
	// Capacity is the most decisions held and not yet acked; a
	// WriteDecision beyond it waits for an ack (the pipeline's decision
	// queue then blocks). Default 8192.
	Capacity int
	// Window is the most decisions sent and not yet acked (default 512,
	// at most Capacity); the rest of the outbox waits its turn, in order.
	// A small window keeps JetStream's ingest at its fastest; a large
	// outbox rides out a long server outage.
	Window int
	// AckTimeout: a decision not acked this long after it was sent is sent
	// again, with the same Nats-Msg-Id. Default 2s.
	AckTimeout time.Duration
	// RetryWait: after a refusal that may pass (no responders while the
	// server restarts, the stream not there yet), the wait before the next
	// try. Default 100ms.
	RetryWait time.Duration
	// Drops counts decisions the log refused for good (stream full with
	// discard new) and oversize ones, under the stream "jetstream".
	Drops *av.Drops
	// Signer, if set, signs every decision (HeaderSignature).
	Signer *Signer
	// EnsureLog, if set, is called (at most once a second, on the
	// resender) when JetStream does not answer a publish: after a server
	// restart with an empty store, or when the server was not up at start,
	// the decision log may have to be created again.
	EnsureLog func(context.Context) error
	// Clock stamps send and ack times; default a real clock.
	Clock av.Clock
	Log   *slog.Logger
	// OnAck, if set, is called with each decision's publish-to-ack latency
	// (from its first send; time waiting in the outbox before that is not
	// counted), on the ack goroutine.
	OnAck func(latencyNS int64)

	// Dir, if set, is the write-ahead outbox's directory (the robot's
	// state directory): each decision is appended there before it is
	// published, and read back at the next start if it was not acked.
	// Empty: the outbox lives in memory only.
	Dir string
	// SyncInterval: how often appended decisions are fsynced (default
	// 100ms). A power cut loses at most this long of decisions not yet
	// acked; a crash of the process alone loses none.
	SyncInterval time.Duration
	// MaxBytes caps the outbox files (default 256 MiB); beyond it a
	// WriteDecision waits as for Capacity.
	MaxBytes int64
	// SegmentBytes: the outbox rolls to a new file past this size, and
	// deletes a file once all of it is acked (default 4 MiB).
	SegmentBytes int64
	// Stream and Domain name the decision log, where decisions read back
	// from Dir are looked up before they are sent again.
	Stream, Domain string
}

// OutboxStats are a JetStreamSink's counters.
type OutboxStats struct {
	Published  uint64 `json:"published"`  // decisions handed to the sink
	Acked      uint64 `json:"acked"`      // stored (or found already stored)
	Duplicates uint64 `json:"duplicates"` // acks that said "duplicate": a re-send of a stored one
	Resent     uint64 `json:"resent"`     // re-sends after a timeout or refusal
	Rejected   uint64 `json:"rejected"`   // refused for good (stream full, discard new)
	Oversize   uint64 `json:"oversize"`   // larger than the server's max payload
	Pending    int    `json:"pending"`    // in the outbox now
	Capacity   int    `json:"capacity"`
	// Recovered: read back from the outbox files at start; of those,
	// AlreadyStored were found in the log and not sent again.
	Recovered     uint64 `json:"recovered"`
	AlreadyStored uint64 `json:"already_stored"`
	// FileBytes: the outbox files' size; FileErrors: appends or syncs
	// that failed (the decision is still published).
	FileBytes  int64  `json:"file_bytes"`
	FileErrors uint64 `json:"file_errors"`
}

// JetStreamSink publishes decisions into the robot's JetStream decision log
// asynchronously. Every decision stays in a bounded outbox until JetStream
// acks it; one not acked in time (a server restart, a lost connection) is
// sent again with the same Nats-Msg-Id, and the stream's duplicate window
// stores it once. It implements Sink.
type JetStreamSink struct {
	nc     *nats.Conn
	bootID string
	cfg    OutboxConfig
	prefix string // reply subject prefix; the token after it is the entry id
	sub    *nats.Subscription

	mu      sync.Mutex
	space   *sync.Cond // an entry left, or closing
	empty   *sync.Cond // the outbox became empty
	pending map[uint64]*entry
	queue   []uint64 // ids not sent yet, oldest first
	sending int      // entries sent and not yet acked
	nextID  uint64
	closing bool
	// verified: decisions read back from the outbox files were checked
	// against the log; until then nothing is sent (order is kept).
	verified bool
	wal      *wal

	kick     chan struct{}
	quit     chan struct{}
	noAnswer atomic.Bool // a publish found no responders since the last EnsureLog
	drops    atomic.Pointer[av.Drops]
	wg       sync.WaitGroup

	published, acked, duplicates, resent, rejected, oversize atomic.Uint64
	recovered, alreadyStored, fileErrors                     atomic.Uint64
	warnedReject, warnedFile                                 atomic.Bool
}

type entry struct {
	msg       *nats.Msg
	firstNS   int64  // first send (0: not sent yet)
	dueNS     int64  // send again at or after this
	seg       uint64 // outbox file segment (0: none)
	sent      bool
	recovered bool // read back at start
}

// NewJetStreamSink starts a sink publishing on nc. bootID tells this run's
// message ids from those of earlier runs of the same robot. The decision
// log must exist (EnsureLog) or come to exist: until then decisions wait
// in the outbox.
//
// With cfg.Dir set, decisions left in the outbox files by an earlier run
// are read back; once the log answers, those it already holds are
// dropped and the rest sent again, first, with their Nats-Msg-Id.
func NewJetStreamSink(nc *nats.Conn, bootID string, cfg OutboxConfig) (*JetStreamSink, error) {
	if cfg.Capacity <= 0 {
		cfg.Capacity = 8192
	}
	if cfg.Window <= 0 {
		cfg.Window = 512
	}
	cfg.Window = min(cfg.Window, cfg.Capacity)
	if cfg.AckTimeout <= 0 {
		cfg.AckTimeout = 2 * time.Second
	}
	if cfg.RetryWait <= 0 {
		cfg.RetryWait = 100 * time.Millisecond
	}
	if cfg.Clock == nil {
		cfg.Clock = av.NewRealClock()
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.SyncInterval <= 0 {
		cfg.SyncInterval = 100 * time.Millisecond
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = 256 << 20
	}
	if cfg.SegmentBytes <= 0 {
		cfg.SegmentBytes = 4 << 20
	}
	s := &JetStreamSink{
		nc: nc, bootID: bootID, cfg: cfg,
		prefix:   nc.NewRespInbox() + ".",
		pending:  make(map[uint64]*entry, cfg.Capacity),
		kick:     make(chan struct{}, 1),
		quit:     make(chan struct{}),
		verified: true,
	}
	if cfg.Drops != nil {
		s.CountDropsIn(cfg.Drops)
	}
	s.space = sync.NewCond(&s.mu)
	s.empty = sync.NewCond(&s.mu)
	if cfg.Dir != "" {
		w, recs, err := openWAL(cfg.Dir, cfg.SegmentBytes, cfg.Log)
		if err != nil {
			return nil, err
		}
		s.wal = w
		for _, r := range recs {
			s.nextID++
			r.msg.Reply = s.prefix + strconv.FormatUint(s.nextID, 10)
			s.pending[s.nextID] = &entry{msg: r.msg, seg: r.seg, recovered: true}
			s.queue = append(s.queue, s.nextID)
		}
		if len(recs) > 0 {
			s.verified = false
			s.recovered.Store(uint64(len(recs)))
			cfg.Log.Info("outbox: decisions of an earlier run read back; they are sent once the log says which it holds",
				"dir", cfg.Dir, "count", len(recs))
		}
	}
	sub, err := nc.Subscribe(s.prefix+"*", s.onAck)
	if err == nil {
		// Acks come as fast as decisions go; never let the client drop them.
		if err = sub.SetPendingLimits(-1, -1); err != nil {
			sub.Unsubscribe()
		}
	}
	if err != nil {
		if s.wal != nil {
			s.wal.close()
		}
		return nil, fmt.Errorf("jetstream sink: %w", err)
	}
	s.sub = sub
	s.wg.Add(1)
	go s.resender()
	if s.wal != nil {
		s.wg.Add(1)
		go s.syncer()
	}
	return s, nil
}

// syncer fsyncs the outbox files every SyncInterval.
func (s *JetStreamSink) syncer() {
	defer s.wg.Done()
	tick := time.NewTicker(s.cfg.SyncInterval)
	defer tick.Stop()
	for {
		select {
		case <-s.quit:
			return
		case <-tick.C:
		}
		if err := s.wal.sync(); err != nil {
			s.fileError(err)
		}
	}
}

// fileError counts a failed append or sync, logging the first.
func (s *JetStreamSink) fileError(err error) {
	s.fileErrors.Add(1)
	if !s.warnedFile.Swap(true) {
		s.cfg.Log.Error("outbox file write failed: decisions are still published but would not survive a crash; counting further failures",
			"dir", s.cfg.Dir, "err", err)
	}
}

// MsgID is the Nats-Msg-Id of decision seq of robot in boot bootID.
func MsgID(robot, bootID string, seq uint64) string {
	return robot + "-" + bootID + "-" + strconv.FormatUint(seq, 10)
}

// decisionMsg builds a decision message with its headers.
func decisionMsg(d *av.Decision, bootID string, payload []byte) *nats.Msg {
	msg := &nats.Msg{Subject: DecisionSubject(d.Robot, d.Kind), Data: payload, Header: make(nats.Header, 4)}
	msg.Header[nats.MsgIdHdr] = []string{MsgID(d.Robot, bootID, d.Seq)}
	msg.Header["Content-Type"] = []string{"application/json"}
	msg.Header[HeaderSchema] = []string{d.Schema}
	msg.Header[HeaderCaptureTime] = []string{strconv.FormatInt(d.TimeNS, 10)}
	return msg
}

// headerSize is the wire size of h (NATS/1.0 line, lines, blank line).
func headerSize(h nats.Header) int {
	n := len("NATS/1.0\r\n\r\n")
	for k, vs := range h {
		for _, v := range vs {
			n += len(k) + 2 + len(v) + 2
		}
	}
	return n
}

// fits reports whether a message of size bytes fits the server's max
// payload. Before the first connection the limit is unknown: it fits.
func fits(nc *nats.Conn, size int) bool {
	mp := nc.MaxPayload()
	return mp <= 0 || int64(size) <= mp
}

// WriteDecision implements Sink: WriteDecisionContext without a deadline.
func (s *JetStreamSink) WriteDecision(d *av.Decision, payload []byte) error {
	return s.WriteDecisionContext(context.Background(), d, payload)
}

// WriteDecisionContext hands the decision to the outbox (appending it to
// the outbox file first) and publishes it, waiting only while the outbox
// is full, and at most until ctx ends. An error means the decision will
// never be stored (oversize, closed sink, ctx ended while full).
func (s *JetStreamSink) WriteDecisionContext(ctx context.Context, d *av.Decision, payload []byte) error {
	msg := decisionMsg(d, s.bootID, payload)
	s.cfg.Signer.Sign(msg)
	if !fits(s.nc, len(payload)+headerSize(msg.Header)) {
		s.oversize.Add(1)
		if d := s.drops.Load(); d != nil {
			d.Add("jetstream", av.DropSinkError, 1)
		}
		return fmt.Errorf("decision %s: %d bytes: %w", msg.Header.Get(nats.MsgIdHdr), len(payload), ErrOversize)
	}
	s.mu.Lock()
	if s.full() && !s.closing && ctx.Err() == nil {
		// Wait for space, or for ctx (registered only now: the common
		// case, room in the outbox, allocates nothing for it).
		s.mu.Unlock()
		stop := context.AfterFunc(ctx, func() {
			s.mu.Lock()
			s.space.Broadcast()
			s.mu.Unlock()
		})
		defer stop()
		s.mu.Lock()
		for s.full() && !s.closing && ctx.Err() == nil {
			s.space.Wait()
		}
	}
	if s.closing {
		s.mu.Unlock()
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		n := len(s.pending)
		s.mu.Unlock()
		return fmt.Errorf("decision %s: %w (%d decisions not acked): %w", msg.Header.Get(nats.MsgIdHdr), ErrOutboxFull, n, err)
	}
	s.nextID++
	id := s.nextID
	msg.Reply = s.prefix + strconv.FormatUint(id, 10)
	now := s.cfg.Clock.Now()
	e := &entry{msg: msg}
	if s.wal != nil {
		seg, err := s.wal.append(msg)
		if err != nil {
			s.fileError(err)
		}
		e.seg = seg
	}
	s.pending[id] = e
	send := s.verified && s.sending < s.cfg.Window && len(s.queue) == 0
	if send {
		e.sent, e.firstNS, e.dueNS = true, now, now+int64(s.cfg.AckTimeout)
		s.sending++
	} else {
		s.queue = append(s.queue, id)
	}
	s.mu.Unlock()
	s.published.Add(1)
	if send {
		// An error here (connection closed, reconnect buffer full) leaves
		// the decision in the outbox; the resender tries again.
		_ = s.nc.PublishMsg(msg)
	}
	return nil
}

// pump sends queued decisions while the window has room. s.mu is held; it
// returns the messages to publish once it is released.
//
// It refills in bursts: only once half the window is acked does it send
// the next half window. JetStream stores a burst with far fewer writes
// than the same messages one by one.
func (s *JetStreamSink) pump(out []*nats.Msg) []*nats.Msg {
	if len(s.queue) == 0 || s.sending > s.cfg.Window/2 || !s.verified {
		return out
	}
	now := s.cfg.Clock.Now()
	n := 0
	for ; n < len(s.queue) && s.sending < s.cfg.Window; n++ {
		e, ok := s.pending[s.queue[n]]
		if !ok {
			continue
		}
		e.sent, e.firstNS, e.dueNS = true, now, now+int64(s.cfg.AckTimeout)
		s.sending++
		out = append(out, e.msg)
	}
	s.queue = s.queue[n:]
	if len(s.queue) == 0 {
		s.queue = s.queue[:0:0] // let the backing array go
	}
	return out
}

func (s *JetStreamSink) publishAll(msgs []*nats.Msg) {
	for _, m := range msgs {
		_ = s.nc.PublishMsg(m)
	}
}

var (
	dupTrue  = []byte(`"duplicate":true`)
	dupTrue2 = []byte(`"duplicate": true`) // what nats-server writes
	errorKey = []byte(`"error"`)
)

// onAck handles JetStream's answer to one publish.
func (s *JetStreamSink) onAck(m *nats.Msg) {
	id, err := strconv.ParseUint(m.Subject[len(s.prefix):], 10, 64)
	if err != nil {
		return
	}
	status := m.Header.Get("Status")
	refused := status != "" || len(m.Data) == 0 || bytes.Contains(m.Data, errorKey)
	now := s.cfg.Clock.Now()
	s.mu.Lock()
	e, ok := s.pending[id]
	if !ok { // an ack for a re-send of one already acked
		s.mu.Unlock()
		return
	}
	if refused {
		if status == "" && isFull(m.Data) {
			s.rejected.Add(1) // before the outbox can show empty, as acked below
			s.remove(id, e)
			s.sending--
			s.afterRemove()
			next := s.pump(nil)
			s.mu.Unlock()
			s.publishAll(next)
			if d := s.drops.Load(); d != nil {
				d.Add("jetstream", av.DropSinkError, 1)
			}
			if !s.warnedReject.Swap(true) {
				s.cfg.Log.Error("decision log full and set to discard new: decisions refused; counting further refusals",
					"msg_id", e.msg.Header.Get(nats.MsgIdHdr), "answer", string(m.Data))
			}
			return
		}
		// No responders (server restarting, stream not there yet) or a
		// passing error: try again soon.
		e.dueNS = now + int64(s.cfg.RetryWait)
		if status == "503" {
			s.noAnswer.Store(true)
		}
		s.mu.Unlock()
		return
	}
	// Counted before the outbox can show empty: Close returns once it
	// is, and its caller reads the counts.
	s.acked.Add(1)
	if bytes.Contains(m.Data, dupTrue2) || bytes.Contains(m.Data, dupTrue) {
		s.duplicates.Add(1)
	}
	s.remove(id, e)
	s.sending--
	s.afterRemove()
	next := s.pump(nil)
	s.mu.Unlock()
	s.publishAll(next)
	if s.cfg.OnAck != nil {
		s.cfg.OnAck(now - e.firstNS)
	}
}

// isFull: the answer says the stream is at its limits (discard new).
func isFull(ans []byte) bool {
	return bytes.Contains(ans, []byte("maximum messages")) || bytes.Contains(ans, []byte("maximum bytes")) ||
		bytes.Contains(ans, []byte(`"err_code":10077`)) || bytes.Contains(ans, []byte(`"err_code":10078`))
}

// full: no room for one more decision, by count or by file size. s.mu
// is held.
func (s *JetStreamSink) full() bool {
	return len(s.pending) >= s.cfg.Capacity || s.wal != nil && s.wal.bytes() >= s.cfg.MaxBytes
}

// remove takes entry id out of the outbox and its file. s.mu is held.
func (s *JetStreamSink) remove(id uint64, e *entry) {
	delete(s.pending, id)
	if e.seg != 0 {
		s.wal.done(e.seg)
	}
}

// afterRemove wakes writers waiting for space. s.mu is held.
func (s *JetStreamSink) afterRemove() {
	s.space.Broadcast()
	if len(s.pending) == 0 {
		s.empty.Broadcast()
	}
}

// CountDropsIn makes the sink count refused decisions in d (when the
// pipeline's drop counters exist only after the sink).
func (s *JetStreamSink) CountDropsIn(d *av.Drops) {
	d.Declare("jetstream", av.DropSinkError)
	s.drops.Store(d)
}

// Resend sends every unacked decision again now (after a reconnect).
//
// After a reconnect nothing sent before it can be trusted to arrive: every
// unacked decision is due again at once (the duplicate window stores a
// decision that did arrive once).
func (s *JetStreamSink) Resend() {
	s.mu.Lock()
	for _, e := range s.pending {
		if e.sent {
			e.dueNS = 0
		}
	}
	s.mu.Unlock()
	s.kickResender()
}

func (s *JetStreamSink) kickResender() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// resender sends again, oldest first, every decision whose ack is overdue,
// while the connection is up.
func (s *JetStreamSink) resender() {
	defer s.wg.Done()
	tick := time.NewTicker(min(s.cfg.RetryWait, s.cfg.AckTimeout/4))
	defer tick.Stop()
	var due []uint64
	var queued []*nats.Msg
	var lastEnsure, lastCheck int64 // pipeline ns
	for {
		select {
		case <-s.quit:
			return
		case <-tick.C:
		case <-s.kick:
		}
		if !s.nc.IsConnected() {
			continue
		}
		if s.needsCheck() && s.cfg.Clock.Now()-lastCheck >= int64(time.Second) {
			lastCheck = s.cfg.Clock.Now()
			s.checkRecovered()
		}
		if s.cfg.EnsureLog != nil && s.noAnswer.Load() && s.cfg.Clock.Now()-lastEnsure >= int64(time.Second) {
			lastEnsure = s.cfg.Clock.Now()
			s.noAnswer.Store(false)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			if err := s.cfg.EnsureLog(ctx); err != nil {
				s.cfg.Log.Warn("decision log not ready", "err", err)
			}
			cancel()
		}
		now := s.cfg.Clock.Now()
		due = due[:0]
		s.mu.Lock()
		for id, e := range s.pending {
			if e.sent && e.dueNS <= now {
				due = append(due, id)
			}
		}
		queued = s.pump(queued[:0])
		s.mu.Unlock()
		s.publishAll(queued)
		clear(queued)
		slices.Sort(due)
		for _, id := range due {
			s.mu.Lock()
			e, ok := s.pending[id]
			if ok {
				e.dueNS = now + int64(s.cfg.AckTimeout)
			}
			s.mu.Unlock()
			if !ok {
				continue
			}
			if err := s.nc.PublishMsg(e.msg); err != nil {
				break // disconnected again: the next tick tries
			}
			s.resent.Add(1)
		}
	}
}

// Stats returns the sink's counters.
func (s *JetStreamSink) Stats() OutboxStats {
	s.mu.Lock()
	n := len(s.pending)
	s.mu.Unlock()
	var fileBytes int64
	if s.wal != nil {
		fileBytes = s.wal.bytes()
	}
	return OutboxStats{
		Published: s.published.Load(), Acked: s.acked.Load(), Duplicates: s.duplicates.Load(),
		Resent: s.resent.Load(), Rejected: s.rejected.Load(), Oversize: s.oversize.Load(),
		Pending: n, Capacity: s.cfg.Capacity,
		Recovered: s.recovered.Load(), AlreadyStored: s.alreadyStored.Load(),
		FileBytes: fileBytes, FileErrors: s.fileErrors.Load(),
	}
}

// Close waits until every decision is acked or ctx ends, then stops. It
// returns an error counting the decisions left unacked; with outbox files
// they stay there for the next start.
func (s *JetStreamSink) Close(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	s.space.Broadcast()
	stop := context.AfterFunc(ctx, func() {
		s.mu.Lock()
		s.empty.Broadcast()
		s.mu.Unlock()
	})
	for len(s.pending) > 0 && ctx.Err() == nil {
		s.kickResender()
		s.empty.Wait()
	}
	stop()
	left := len(s.pending)
	s.mu.Unlock()
	close(s.quit)
	s.wg.Wait()
	s.sub.Unsubscribe()
	var werr error
	if s.wal != nil {
		werr = s.wal.close()
	}
	if left > 0 {
		if s.wal != nil && werr == nil {
			return fmt.Errorf("jetstream sink: %d decisions not acked at shutdown, kept in %s for the next start", left, s.cfg.Dir)
		}
		return errors.Join(fmt.Errorf("jetstream sink: %d decisions not acked at shutdown", left), werr)
	}
	return werr
}
