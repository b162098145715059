package sinks

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/seed-4c364652/fusiond/sinks/client"
)

// MinDuplicateWindow is the shortest deduplication window the decision log
// may have: an outbox re-send after a server restart must still be caught
// as a duplicate.
const MinDuplicateWindow = 2 * time.Minute

// LogConfig configures a robot's JetStream decision log.
type LogConfig struct {
	Robot string
	// Stream name; empty for client.StreamName(Robot).
	Stream string
	// MaxAge and MaxBytes bound the log (limits retention); 0 for no limit.
	MaxAge   time.Duration
	MaxBytes int64
	// MaxMsgs bounds the number of decisions kept; 0 for no limit.
	MaxMsgs int64
	// DiscardNew refuses new decisions when the log is full instead of
	// deleting the oldest (the default).
	DiscardNew bool
	// DuplicateWindow is at least MinDuplicateWindow.
	DuplicateWindow time.Duration
	// Compress stores the log S2-compressed.
	Compress bool
	Replicas int
}

// StreamConfig is the JetStream stream configuration of the log.
func (c LogConfig) StreamConfig() jetstream.StreamConfig {
	name := c.Stream
	if name == "" {
		name = client.StreamName(c.Robot)
	}
	dup := c.DuplicateWindow
	if dup < MinDuplicateWindow {
		dup = MinDuplicateWindow
	}
	sc := jetstream.StreamConfig{
		Name:        name,
		Description: "fusiond decisions of robot " + c.Robot,
		Subjects:    []string{DecisionSubject(c.Robot, ">")},
		Retention:   jetstream.LimitsPolicy,
		Storage:     jetstream.FileStorage,
		MaxAge:      c.MaxAge,
		MaxBytes:    orMinus1(c.MaxBytes),
		MaxMsgs:     orMinus1(c.MaxMsgs),
		Discard:     jetstream.DiscardOld,
		Duplicates:  dup,
		Replicas:    max(c.Replicas, 1),
		Compression: jetstream.NoCompression,
	}
	if c.DiscardNew {
		sc.Discard = jetstream.DiscardNew
	}
	if c.Compress {
		sc.Compression = jetstream.S2Compression
	}
	return sc
}

func orMinus1(n int64) int64 {
	if n <= 0 {
		return -1
	}
	return n
}

// EnsureLog creates the decision log or updates it to cfg. domain names the
// JetStream domain ("" for the local one).
func EnsureLog(ctx context.Context, nc *nats.Conn, domain string, cfg LogConfig) (jetstream.Stream, error) {
	var opts []jetstream.JetStreamOpt
	var js jetstream.JetStream
	var err error
	if domain != "" {
		js, err = jetstream.NewWithDomain(nc, domain, opts...)
	} else {
		js, err = jetstream.New(nc, opts...)
	}
	if err != nil {
		return nil, err
	}
	sc := cfg.StreamConfig()
	s, err := js.CreateOrUpdateStream(ctx, sc)
	if err != nil {
		if errors.Is(err, jetstream.ErrJetStreamNotEnabled) || errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount) {
			return nil, fmt.Errorf("decision log %s: %w (enable JetStream on the server, or set nats.jetstream.enabled: false)", sc.Name, err)
		}
		return nil, fmt.Errorf("decision log %s: %w", sc.Name, err)
	}
	return s, nil
}
