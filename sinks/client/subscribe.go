package client

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/seed-4c364652/fusiond/sinks/decision"
)

// Msg is one decision message as it arrived.
type Msg struct {
	Subject string
	// MsgID is the Nats-Msg-Id header: <robot>-<boot id>-<seq>, unique
	// per message across runs.
	MsgID string
	// Data is the message body as published.
	Data []byte
	// Decision is Data decoded; nil when Err is set.
	Decision *Decision
	// Err is the decoding error (wrapping ErrSchema or ErrMalformed), or
	// with WithVerifier the signature's (ErrUnsigned, ErrForged).
	Err error
	// Verified: a trusted key signed it (WithVerifier only).
	Verified bool
	// StreamSeq is the message's sequence in the decision log (0 when it
	// came live on core NATS).
	StreamSeq uint64
}

// Handler receives each message. It runs on one goroutine per
// subscription, so messages of one subscription arrive in order.
type Handler func(Msg)

func newMsg(subject string, h nats.Header, data []byte, o options) Msg {
	m := Msg{Subject: subject, Data: data}
	if h != nil {
		m.MsgID = h.Get(HeaderMsgID)
	}
	if o.verifier != nil {
		if m.Err = o.verifier.Verify(subject, h, data); m.Err != nil {
			return m
		}
		m.Verified = true
	}
	m.Decision, m.Err = Decode(data)
	return m
}

// Subscribe delivers robot's decisions live from core NATS ("*" for every
// robot) until the subscription is unsubscribed or nc closed.
func Subscribe(nc *nats.Conn, robot string, h Handler, opts ...Option) (*nats.Subscription, error) {
	if err := checkRobot(robot, true); err != nil {
		return nil, err
	}
	o := newOptions(opts)
	return nc.Subscribe(DecisionSubject(robot, ">"), func(m *nats.Msg) {
		h(newMsg(m.Subject, m.Header, m.Data, o))
	})
}

// Replayer delivers a replay; Stop ends it.
type Replayer struct{ stops []func() }

// Stop ends the replay. Messages may still be handled while it returns.
func (r *Replayer) Stop() {
	for _, s := range r.stops {
		s()
	}
}

// ErrNoLog is returned by Replay when no decision log exists for the robot.
var ErrNoLog = errors.New("no decision log")

// Replay delivers robot's decisions from its JetStream decision log,
// starting with those stored at or after since, then goes on live
// with new ones, in log order. robot "*" replays every robot's log found
// on the server (each in order; robots interleave). It uses ordered
// consumers, which the server deletes when the replay stops.
func Replay(ctx context.Context, nc *nats.Conn, robot string, since time.Time, h Handler, opts ...Option) (*Replayer, error) {
	if err := checkRobot(robot, true); err != nil {
		return nil, err
	}
	o := newOptions(opts)
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	var streams []string
	if robot == "*" {
		names := js.StreamNames(ctx, jetstream.WithStreamListSubject(DecisionSubject("*", ">")))
		for n := range names.Name() {
			streams = append(streams, n)
		}
		if err := names.Err(); err != nil && !errors.Is(err, jetstream.ErrEndOfData) {
			return nil, fmt.Errorf("list decision logs: %w", err)
		}
		if len(streams) == 0 {
			return nil, fmt.Errorf("%w on this server", ErrNoLog)
		}
	} else {
		streams = []string{StreamName(robot)}
	}
	r := &Replayer{}
	for _, s := range streams {
		cons, err := js.OrderedConsumer(ctx, s, jetstream.OrderedConsumerConfig{
			FilterSubjects: []string{DecisionSubject(robot, ">")},
			DeliverPolicy:  jetstream.DeliverByStartTimePolicy,
			OptStartTime:   &since,
		})
		if err != nil {
			r.Stop()
			if errors.Is(err, jetstream.ErrStreamNotFound) {
				return nil, fmt.Errorf("%w for robot %s (stream %s)", ErrNoLog, robot, s)
			}
			return nil, fmt.Errorf("replay %s: %w", s, err)
		}
		cc, err := cons.Consume(func(m jetstream.Msg) {
			msg := newMsg(m.Subject(), m.Headers(), m.Data(), o)
			if md, err := m.Metadata(); err == nil {
				msg.StreamSeq = md.Sequence.Stream
			}
			h(msg)
		})
		if err != nil {
			r.Stop()
			return nil, fmt.Errorf("replay %s: %w", s, err)
		}
		r.stops = append(r.stops, cc.Stop)
	}
	return r, nil
}

func checkRobot(robot string, wildcard bool) error {
	if robot == "*" && wildcard || decision.ValidToken(robot) {
		return nil
	}
	return fmt.Errorf("robot %q: not a robot id or *", robot)
}

// SeqOf parses the decision sequence number out of a Nats-Msg-Id.
func SeqOf(msgID string) (uint64, bool) {
	i := strings.LastIndexByte(msgID, '-')
	if i < 0 {
		return 0, false
	}
	n, err := strconv.ParseUint(msgID[i+1:], 10, 64)
	return n, err == nil
}
