package sinks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"sync/atomic"

	"github.com/nats-io/nats.go"

	"github.com/seed-4c364652/fusiond/ingest/av"
)

// Sink receives every decision, already encoded as JSON.
type Sink interface {
	WriteDecision(d *av.Decision, payload []byte) error
}

// DecisionSubject is the subject a decision of kind is published on.
func DecisionSubject(robot, kind string) string { return "fusion." + robot + ".decision." + kind }

// StatusSubject is the subject of the robot's periodic status.
func StatusSubject(robot string) string { return "fusion." + robot + ".status" }

// Header names on decision messages.
const (
	HeaderSchema      = "Fusiond-Schema"
	HeaderCaptureTime = "Fusiond-Capture-Time"
)

// contextSink is a Sink that may wait (the JetStream outbox, when full):
// it waits at most until ctx ends.
type contextSink interface {
	WriteDecisionContext(ctx context.Context, d *av.Decision, payload []byte) error
}

// NATSSink publishes decisions on core NATS.
type NATSSink struct {
	nc     *nats.Conn
	bootID string
	signer *Signer
}

// NewNATSSink returns a sink publishing on nc. bootID tells this run's
// message ids from those of earlier runs of the same robot.
func NewNATSSink(nc *nats.Conn, bootID string) *NATSSink {
	return &NATSSink{nc: nc, bootID: bootID}
}

// SignWith makes the sink sign every decision with sg (nil: unsigned).
func (s *NATSSink) SignWith(sg *Signer) *NATSSink {
	s.signer = sg
	return s
}

// WriteDecision implements Sink.
func (s *NATSSink) WriteDecision(d *av.Decision, payload []byte) error {
	msg := decisionMsg(d, s.bootID, payload)
	s.signer.Sign(msg)
	return s.nc.PublishMsg(msg)
}

// JSONLFile writes decisions to a file, one JSON object per line.
type JSONLFile struct {
	f      *os.File
	failed error // the first write error
	closed bool
}

// CreateJSONL creates (or truncates) path.
func CreateJSONL(path string) (*JSONLFile, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("decisions file: %w", err)
	}
	return &JSONLFile{f: f}, nil
}

// WriteDecision implements Sink. Each line is written whole, so a reader
// following the file never sees half a decision.
func (j *JSONLFile) WriteDecision(d *av.Decision, payload []byte) error {
	line := make([]byte, 0, len(payload)+1)
	line = append(append(line, payload...), '\n')
	_, err := j.f.Write(line)
	if err != nil && j.failed == nil {
		j.failed = err
	}
	return err
}

// Err returns the first write error (it names the file), nil if none.
func (j *JSONLFile) Err() error { return j.failed }

// Close closes the file; a second call does nothing.
func (j *JSONLFile) Close() error {
	if j.closed {
		return nil
	}
	j.closed = true
	if err := j.f.Close(); err != nil {
		return fmt.Errorf("decisions file: %w", err)
	}
	return nil
}

// Run is the publish stage: for every decision from in it stamps the publish
// time, fills the latencies, encodes it once and writes it to every sink. A
// sink's first error is logged; every failed write is counted in drops under
// the stream "sink:<index>". It returns when in is closed or ctx ends; a
// sink that waits (a full outbox) waits no longer than ctx, and a decision
// the outbox could not take by then goes to no later sink (counted under
// "decisions", shutdown): put the outbox first.
func Run(ctx context.Context, clock av.Clock, in <-chan *av.Decision, sinks []Sink, drops *av.Drops, log *slog.Logger) error {
	failing := make([]bool, len(sinks))
	for {
		select {
		case d, ok := <-in:
			if !ok {
				return nil
			}
			d.Stamps[av.StagePublish] = clock.Now()
			payload, err := EncodeDecision(d)
			if err != nil {
				return fmt.Errorf("encode decision: %w", err) // a bug: decisions hold only plain numbers
			}
			for i, s := range sinks {
				var err error
				if cs, ok := s.(contextSink); ok {
					err = cs.WriteDecisionContext(ctx, d, payload)
					if errors.Is(err, ErrOutboxFull) {
						// Not in the outbox, so in no later sink either
						// (--decisions holds only what the outbox kept):
						// dropped at shutdown, as if still queued.
						drops.Add("decisions", av.DropShutdown, 1)
						if !failing[i] {
							log.Error("outbox full at shutdown: decisions dropped; counting them", "err", err)
						}
						failing[i] = true
						break
					}
				} else {
					err = s.WriteDecision(d, payload)
				}
				if err != nil {
					drops.Add(av.StreamID("sink:"+strconv.Itoa(i)), av.DropSinkError, 1)
					if !failing[i] {
						log.Error("sink failed; counting further failures", "sink", fmt.Sprintf("%T", s), "err", err)
					}
				} else if failing[i] {
					log.Info("sink recovered", "sink", fmt.Sprintf("%T", s))
				}
				failing[i] = err != nil
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// SensorCounters count best-effort sensor publishes.
type SensorCounters struct {
	Published, Oversize, Failed atomic.Uint64
}

// PublishSensor publishes a sensor sample (a JPEG frame, an audio chunk) on
// core NATS, best effort. It checks the size against the server's max
// payload first, as the client does not when it is disconnected: an
// oversize sample is counted and refused with ErrOversize, and the
// connection stays up.
func PublishSensor(nc *nats.Conn, subject string, data []byte, c *SensorCounters) error {
	if !fits(nc, len(data)) {
		c.Oversize.Add(1)
		return fmt.Errorf("%s: %d bytes: %w", subject, len(data), ErrOversize)
	}
	if err := nc.Publish(subject, data); err != nil {
		c.Failed.Add(1)
		return err
	}
	c.Published.Add(1)
	return nil
}

// SensorSubject is the subject of a stream's samples in format ("jpeg",
// "pcm16").
func SensorSubject(robot, stream, format string) string {
	return "fusion." + robot + ".sensor." + stream + "." + format
}

// DecisionMsg is the message a decision is published as: its subject,
// payload and headers (Nats-Msg-Id <robot>-<bootID>-<seq>, Content-Type,
// Fusiond-Schema, Fusiond-Capture-Time), unsigned. Fusion workers
// (sinks/worker) publish robots' decisions with it.
func DecisionMsg(d *av.Decision, bootID string, payload []byte) *nats.Msg {
	return decisionMsg(d, bootID, payload)
}
