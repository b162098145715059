package worker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/seed-4c364652/fusiond/fuse"
	"github.com/seed-4c364652/fusiond/fuse/offload"
	"github.com/seed-4c364652/fusiond/sinks"
)

// DecisionStream is the hub stream that stores offloaded robots'
// decisions (subjects fusion.<robot>.decision.> of each robot AddRobot
// added, never a wildcard over robots: the decisions of robots that fuse
// on board cross the leaf links too, and belong to FUSIOND_FLEET).
const DecisionStream = "FUSIOND_OFFLOADED"

// DuplicateWindow is the work and decision streams' duplicate window: it
// must be longer than a handover takes (the lease TTL plus the time since
// the last checkpoint).
const DuplicateWindow = 10 * time.Minute

// TickStream is the name of robot's own stream of feature bundles.
func TickStream(robot string) string { return "FUSIOND_TICKS_" + robot }

// EnsureTickStream creates robot's stream of feature bundles (on the
// robot, in its own JetStream domain), keeping them maxAge (0: forever).
func EnsureTickStream(ctx context.Context, js jetstream.JetStream, robot string, maxAge time.Duration) (jetstream.Stream, error) {
	s, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{Name: TickStream(robot), Subjects: []string{offload.Subject(robot)},
		Storage: jetstream.FileStorage, MaxAge: maxAge, Duplicates: sinks.MinDuplicateWindow,
		Description: "fusiond: the robot's feature bundles, for fusion workers"})
	if err != nil {
		return nil, fmt.Errorf("tick stream %s: %w", TickStream(robot), err)
	}
	return s, nil
}

// AddRobot makes the hub's work stream source robot's feature bundles
// (from its stream in domain, "" for the hub's own) and the decision
// stream store its decisions, creating either stream when missing.
func AddRobot(ctx context.Context, js jetstream.JetStream, robot, domain string) error {
	src := &jetstream.StreamSource{Name: TickStream(robot), FilterSubject: offload.Subject(robot)}
	if domain != "" {
		src.External = &jetstream.ExternalStream{APIPrefix: "$JS." + domain + ".API"}
	}
	err := update(ctx, js, jetstream.StreamConfig{Name: WorkStream, Storage: jetstream.FileStorage, Duplicates: DuplicateWindow,
		Description: "fusiond: offloaded robots' feature bundles, for fusion workers"},
		func(c *jetstream.StreamConfig) bool {
			if slices.ContainsFunc(c.Sources, func(s *jetstream.StreamSource) bool { return s.Name == src.Name }) {
				return false
			}
			c.Sources = append(c.Sources, src)
			return true
		})
	if err != nil {
		return err
	}
	subj := "fusion." + robot + ".decision.>"
	return update(ctx, js, jetstream.StreamConfig{Name: DecisionStream, Storage: jetstream.FileStorage, Duplicates: DuplicateWindow,
		Description: "fusiond: offloaded robots' decisions, made by fusion workers"},
		func(c *jetstream.StreamConfig) bool {
			if slices.Contains(c.Subjects, subj) {
				return false
			}
			c.Subjects = append(c.Subjects, subj)
			return true
		})
}

// update applies change to stream's configuration, creating it from
// fresh when it does not exist.
func update(ctx context.Context, js jetstream.JetStream, fresh jetstream.StreamConfig, change func(*jetstream.StreamConfig) bool) error {
	s, err := js.Stream(ctx, fresh.Name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		change(&fresh)
		_, err = js.CreateStream(ctx, fresh)
		if err != nil {
			return fmt.Errorf("stream %s: %w", fresh.Name, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("stream %s: %w", fresh.Name, err)
	}
	c := s.CachedInfo().Config
	if !change(&c) {
		return nil
	}
	if _, err := js.UpdateStream(ctx, c); err != nil {
		return fmt.Errorf("stream %s: %w", fresh.Name, err)
	}
	return nil
}

// Offloader is the robot side: it publishes the robot's ticks as feature
// bundles (fuse.ActivityConfig.Offload = o.Offload), each until its
// stream acks it.
type Offloader struct {
	ctx         context.Context
	js          jetstream.JetStream
	robot, boot string
	maxAge      time.Duration

	mu  sync.Mutex
	seq uint64
	buf []byte
	err error
}

// NewOffloader publishes robot's ticks of boot through js until ctx ends,
// into the robot's tick stream, which it creates (keeping bundles maxAge)
// when no stream answers.
func NewOffloader(ctx context.Context, js jetstream.JetStream, robot, boot string, maxAge time.Duration) *Offloader {
	return &Offloader{ctx: ctx, js: js, robot: robot, boot: boot, maxAge: maxAge}
}

// Offload publishes one tick.
func (o *Offloader) Offload(t *fuse.Tick) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.seq++
	o.buf = offload.Append(o.buf[:0], &offload.Bundle{Robot: o.robot, Boot: o.boot, Seq: o.seq, Tick: *t})
	msg := &nats.Msg{Subject: offload.Subject(o.robot), Data: o.buf, Header: nats.Header{
		nats.MsgIdHdr:      []string{offload.MsgID(o.robot, o.boot, o.seq)},
		"Content-Type":     []string{offload.ContentType},
		sinks.HeaderSchema: []string{offload.Schema},
	}}
	for {
		_, err := o.js.PublishMsg(o.ctx, msg)
		if err == nil {
			return
		}
		if o.ctx.Err() != nil {
			if o.err == nil {
				o.err = fmt.Errorf("tick %d not stored: %w", o.seq, err)
			}
			return
		}
		if errors.Is(err, jetstream.ErrNoStreamResponse) {
			ectx, cancel := context.WithTimeout(o.ctx, 5*time.Second)
			EnsureTickStream(ectx, o.js, o.robot, o.maxAge) //nolint:errcheck // the publish says
			cancel()
		}
		select {
		case <-o.ctx.Done():
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Err is the first tick not stored, at the end of ctx.
func (o *Offloader) Err() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.err
}

// JetStream is the hub's JetStream on nc (domain "" for the connection's
// own).
func JetStream(nc *nats.Conn, domain string) (jetstream.JetStream, error) {
	if domain != "" {
		return jetstream.NewWithDomain(nc, domain)
	}
	return jetstream.New(nc)
}

// DefaultID is a worker id for this process: the host name (its letters,
// digits, '-' and '_') and the process id.
func DefaultID() string {
	host, _ := os.Hostname()
	host = strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, host)
	return host + "-" + strconv.Itoa(os.Getpid())
}
