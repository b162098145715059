package sinks

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strconv"

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

// NATSSink publishes decisions on core NATS.
type NATSSink struct {
	nc     *nats.Conn
	bootID string
}

// NewNATSSink returns a sink publishing on nc. bootID tells this run's
// message ids from those of earlier runs of the same robot.
func NewNATSSink(nc *nats.Conn, bootID string) *NATSSink {
	return &NATSSink{nc: nc, bootID: bootID}
}

// WriteDecision implements Sink.
func (s *NATSSink) WriteDecision(d *av.Decision, payload []byte) error {
	msg := &nats.Msg{Subject: DecisionSubject(d.Robot, d.Kind), Data: payload, Header: nats.Header{}}
	msg.Header.Set(nats.MsgIdHdr, d.Robot+"-"+s.bootID+"-"+strconv.FormatUint(d.Seq, 10))
	msg.Header.Set("Content-Type", "application/json")
	msg.Header.Set(HeaderSchema, d.Schema)
	msg.Header.Set(HeaderCaptureTime, strconv.FormatInt(d.TimeNS, 10))
	return s.nc.PublishMsg(msg)
}

// JSONLFile writes decisions to a file, one JSON object per line.
type JSONLFile struct{ f *os.File }

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
	return err
}

// Close closes the file.
func (j *JSONLFile) Close() error { return j.f.Close() }

// Run is the publish stage: for every decision from in it stamps the publish
// time, fills the latencies, encodes it once and writes it to every sink. A
// sink's first error is logged; every failed write is counted in drops under
// the stream "sink:<index>". It returns when in is closed or ctx ends.
func Run(ctx context.Context, clock av.Clock, in <-chan *av.Decision, sinks []Sink, drops *av.Drops, log *slog.Logger) error {
	failing := make([]bool, len(sinks))
	for {
		select {
		case d, ok := <-in:
			if !ok {
				return nil
			}
			d.Stamps[av.StagePublish] = clock.Now()
			d.StampLatency()
			payload, err := json.Marshal(d)
			if err != nil {
				return fmt.Errorf("encode decision: %w", err) // a bug: decisions hold only plain numbers
			}
			for i, s := range sinks {
				err := s.WriteDecision(d, payload)
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
