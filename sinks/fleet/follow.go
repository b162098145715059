package fleet

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/seed-4c364652/fusiond/sinks/client"
)

// FollowConfig says what Follow reads from the hub stream.
type FollowConfig struct {
	// Stream is the hub stream (DefaultStream when empty); HubDomain its
	// JetStream domain.
	Stream    string
	HubDomain string
	// Robot filters one robot's decisions ("" or "*": every robot's).
	Robot string
	// Since, when set, starts with the decisions stored on the hub since
	// then; nil: only new ones.
	Since *time.Time
	// Verifier, when set, checks each decision's signature (client.Msg's
	// Err is client.ErrForged or client.ErrUnsigned when it fails).
	Verifier *client.Verifier
}

// Follow delivers the hub stream's decisions to h, in the hub's order
// (each robot's in its own order), with an ordered consumer the server
// deletes when stop is called. h runs on one goroutine.
func Follow(ctx context.Context, nc *nats.Conn, cfg FollowConfig, h client.Handler) (stop func(), err error) {
	if cfg.Stream == "" {
		cfg.Stream = DefaultStream
	}
	robot := cfg.Robot
	if robot == "" {
		robot = "*"
	}
	if robot != "*" && !validDomain(robot) {
		return nil, fmt.Errorf("robot %q: not a robot id or *", robot)
	}
	js, err := newJS(nc, cfg.HubDomain)
	if err != nil {
		return nil, err
	}
	occ := jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{client.DecisionSubject(robot, ">")},
		DeliverPolicy:  jetstream.DeliverNewPolicy,
	}
	if cfg.Since != nil {
		occ.DeliverPolicy, occ.OptStartTime = jetstream.DeliverByStartTimePolicy, cfg.Since
	}
	cons, err := js.OrderedConsumer(ctx, cfg.Stream, occ)
	if err != nil {
		return nil, fmt.Errorf("hub stream %s: %w", cfg.Stream, err)
	}
	// Heartbeats every second: a consumer lost with a hub node is
	// noticed, and made again where it left off, within seconds.
	cc, err := cons.Consume(func(m jetstream.Msg) {
		h(newMsg(m, cfg.Verifier))
	}, jetstream.PullExpiry(5*time.Second), jetstream.PullHeartbeat(time.Second))
	if err != nil {
		return nil, fmt.Errorf("hub stream %s: %w", cfg.Stream, err)
	}
	return cc.Stop, nil
}

// newMsg is a decision message as client.Subscribe gives it: verified
// first (the signature covers the robot's subject, kept by sourcing),
// then decoded.
func newMsg(m jetstream.Msg, v *client.Verifier) client.Msg {
	msg := client.Msg{Subject: m.Subject(), Data: m.Data(), MsgID: m.Headers().Get(client.HeaderMsgID)}
	if md, err := m.Metadata(); err == nil {
		msg.StreamSeq = md.Sequence.Stream
	}
	if v != nil {
		if msg.Err = v.Verify(msg.Subject, m.Headers(), msg.Data); msg.Err != nil {
			return msg
		}
		msg.Verified = true
	}
	msg.Decision, msg.Err = client.Decode(msg.Data)
	return msg
}
