package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/seed-4c364652/fusiond/fuse"
	"github.com/seed-4c364652/fusiond/fuse/offload"
	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/sinks"
)

// Checkpoint is a robot's saved fusion (StateBucket, key the robot id).
type Checkpoint struct {
	Boot      string          `json:"boot"`
	Tick      uint64          `json:"tick"`       // the last tick processed
	StreamSeq uint64          `json:"stream_seq"` // its work-stream sequence
	Fusion    json.RawMessage `json:"fusion"`     // fuse.Fusion's state after it
	Worker    string          `json:"worker"`     // who wrote it
}

// errLost: another worker wrote the robot's checkpoint; this one no
// longer owns the robot.
var errLost = errors.New("another worker took the robot over")

// robotRun is one owned robot's fusion.
type robotRun struct {
	w        *Worker
	robot    string
	log      *slog.Logger
	ck       Checkpoint
	stateRev uint64 // revision of the checkpoint read or written last; 0: none
	fusion   *fuse.Fusion
	since    int  // ticks since the checkpoint
	torn     bool // a tick's decisions were not all published: no final checkpoint
	out      []*av.Decision
}

// own fuses robot r while this worker holds its lease (revision rev) and
// ctx lasts; then it checkpoints and releases the lease.
func (w *Worker) own(ctx context.Context, r string, rev uint64) {
	log := w.cfg.Log.With("worker", w.cfg.ID, "robot", r)
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	final := make(chan uint64, 1)
	go w.renew(rctx, cancel, "robot."+r, rev, final, log)
	rr := &robotRun{w: w, robot: r, log: log}
	err := rr.run(rctx)
	cancel()
	rev = <-final
	if err != nil && !errors.Is(err, context.Canceled) {
		log.Warn("robot given up", "err", err)
	}
	if rev == 0 {
		return // lost: the new owner's checkpoint counts
	}
	// A deadline of its own: ctx has ended.
	dctx, dcancel := context.WithTimeout(context.Background(), w.cfg.LeaseTTL/3)
	defer dcancel()
	if !rr.torn && rr.since > 0 && !errors.Is(err, errLost) {
		if err := rr.checkpoint(dctx); err != nil {
			log.Warn("last checkpoint not written; the next owner replays from the one before", "err", err)
		}
	}
	if err := w.leases.Delete(dctx, "robot."+r, jetstream.LastRevision(rev)); err != nil {
		log.Warn("robot lease not released; it expires by itself", "ttl", w.cfg.LeaseTTL, "err", err)
	}
	log.Info("robot given back", "tick", rr.ck.Tick)
}

// renew renews a lease every LeaseTTL/3 until ctx ends; it sends the
// lease's last revision on final, 0 when another worker took it (and then
// cancels the robot's work).
func (w *Worker) renew(ctx context.Context, cancel context.CancelFunc, key string, rev uint64, final chan<- uint64, log *slog.Logger) {
	every := w.cfg.LeaseTTL / 3
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			final <- rev
			return
		case <-t.C:
		}
		octx, c := context.WithTimeout(ctx, every)
		n, err := w.leases.Update(octx, key, []byte(w.cfg.ID), rev)
		c()
		switch {
		case err == nil:
			rev = n
		case ctx.Err() != nil:
			final <- rev
			return
		case sinks.LeaseLost(err):
			log.Warn("robot lease lost to another worker", "err", err)
			final <- 0
			cancel()
			return
		default:
			log.Warn("robot lease not renewed; retrying", "err", err)
		}
	}
}

// run restores the robot's checkpoint and fuses its ticks from there.
func (rr *robotRun) run(ctx context.Context) error {
	w := rr.w
	if err := rr.restore(ctx); err != nil {
		return err
	}
	cc := jetstream.OrderedConsumerConfig{FilterSubjects: []string{offload.Subject(rr.robot)}}
	if rr.ck.StreamSeq > 0 {
		cc.DeliverPolicy, cc.OptStartSeq = jetstream.DeliverByStartSequencePolicy, rr.ck.StreamSeq+1
	}
	cons, err := w.js.OrderedConsumer(ctx, w.cfg.Stream, cc)
	if err != nil {
		return fmt.Errorf("consumer: %w", err)
	}
	it, err := cons.Messages()
	if err != nil {
		return fmt.Errorf("consumer: %w", err)
	}
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	defer it.Stop()
	for {
		msg, err := it.Next()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("consumer: %w", err)
		}
		meta, err := msg.Metadata()
		if err != nil {
			return fmt.Errorf("consumer: %w", err)
		}
		if err := rr.tick(ctx, msg.Data(), meta.Sequence.Stream); err != nil {
			return err
		}
		if rr.since >= w.cfg.CheckpointEvery {
			if err := rr.checkpoint(ctx); errors.Is(err, errLost) {
				return err
			} else if err != nil && ctx.Err() == nil {
				rr.log.Warn("checkpoint not written; trying again later", "err", err)
			}
		}
	}
}

// restore reads the robot's checkpoint, if any.
func (rr *robotRun) restore(ctx context.Context) error {
	w := rr.w
	f, err := fuse.NewFusion(rr.robot, w.cfg.Decide, nil)
	if err != nil {
		return err
	}
	rr.fusion = f
	e, err := w.state.Get(ctx, rr.robot)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		w.takeovers.Add(1)
		rr.log.Info("robot taken, no checkpoint: from its first tick")
		return nil
	}
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	var ck Checkpoint
	if err := json.Unmarshal(e.Value(), &ck); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if err := f.UnmarshalState(ck.Fusion); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	rr.ck, rr.stateRev = ck, e.Revision()
	w.takeovers.Add(1)
	rr.log.Info("robot taken over", "from", ck.Worker, "boot", ck.Boot, "tick", ck.Tick, "stream_seq", ck.StreamSeq)
	return nil
}

// tick fuses one feature bundle and publishes its decisions.
func (rr *robotRun) tick(ctx context.Context, data []byte, streamSeq uint64) error {
	w := rr.w
	b, err := offload.Decode(data)
	if err == nil && b.Robot != rr.robot {
		err = fmt.Errorf("bundle of robot %q", b.Robot)
	}
	if err != nil {
		w.malformed.Add(1)
		rr.log.Warn("feature bundle skipped", "stream_seq", streamSeq, "err", err)
		rr.ck.StreamSeq = streamSeq
		return nil
	}
	if b.Boot != rr.ck.Boot {
		// The robot restarted: its fusion starts again, as on board.
		if rr.ck.Boot != "" {
			rr.log.Info("robot restarted", "boot", b.Boot, "previous", rr.ck.Boot)
		}
		f, err := fuse.NewFusion(rr.robot, w.cfg.Decide, nil)
		if err != nil {
			return err
		}
		rr.fusion, rr.ck = f, Checkpoint{Boot: b.Boot}
	}
	if b.Seq <= rr.ck.Tick {
		rr.ck.StreamSeq = streamSeq // a bundle sent twice
		return nil
	}
	if b.Seq != rr.ck.Tick+1 {
		w.gaps.Add(b.Seq - rr.ck.Tick - 1)
		rr.log.Warn("feature bundles missing", "from", rr.ck.Tick+1, "to", b.Seq-1)
	}
	b.Tick.Stamps[av.StageFuse] = w.cfg.Clock.Now()
	rr.out = rr.out[:0]
	rr.fusion.Apply(&b.Tick, func(d *av.Decision) { rr.out = append(rr.out, d) })
	rr.torn = true
	for _, d := range rr.out {
		if err := rr.publish(ctx, d, b.Boot); err != nil {
			return err
		}
	}
	rr.torn = false
	rr.ck.Tick, rr.ck.StreamSeq = b.Seq, streamSeq
	rr.since++
	w.ticks.Add(1)
	return nil
}

// publish publishes a decision until JetStream acks it or ctx ends.
func (rr *robotRun) publish(ctx context.Context, d *av.Decision, boot string) error {
	w := rr.w
	d.Stamps[av.StagePublish] = w.cfg.Clock.Now()
	payload, err := sinks.EncodeDecision(d)
	if err != nil {
		return fmt.Errorf("encode decision: %w", err)
	}
	msg := sinks.DecisionMsg(d, boot, payload)
	w.cfg.Signer.Sign(msg)
	for warned := false; ; {
		ack, err := w.js.PublishMsg(ctx, msg)
		if err == nil {
			w.decisions.Add(1)
			if ack.Duplicate {
				w.duplicates.Add(1)
			}
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !warned {
			rr.log.Warn("decision not stored yet; retrying", "seq", d.Seq, "err", err)
			warned = true
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// checkpoint writes the robot's checkpoint, if no other worker wrote one
// since this one read or wrote it.
func (rr *robotRun) checkpoint(ctx context.Context) error {
	st, err := rr.fusion.MarshalState()
	if err != nil {
		return err
	}
	rr.ck.Fusion, rr.ck.Worker = st, rr.w.cfg.ID
	v, err := json.Marshal(&rr.ck)
	if err != nil {
		return err
	}
	var rev uint64
	if rr.stateRev == 0 {
		rev, err = rr.w.state.Create(ctx, rr.robot, v)
	} else {
		rev, err = rr.w.state.Update(ctx, rr.robot, v, rr.stateRev)
	}
	if sinks.LeaseLost(err) {
		return fmt.Errorf("checkpoint: %w", errLost)
	}
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	rr.stateRev, rr.since = rev, 0
	return nil
}
