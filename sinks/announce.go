package sinks

import (
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
)

// Fleet subjects: a robot's embedded server, joined to a hub as a leaf
// node with its own JetStream domain, announces the domain on
// AnnounceSubject(domain) now and then, and answers DiscoverSubject
// requests, so the hub can find its decision log (docs/FLEET.md).
const (
	AnnounceSubjects = "fusiond.fleet.announce.*"
	DiscoverSubject  = "fusiond.fleet.discover"
	AnnounceSchema   = "fusiond.announce.v1"
)

// AnnounceSubject is where the leaf node of domain announces itself.
func AnnounceSubject(domain string) string { return "fusiond.fleet.announce." + domain }

// Announcement is the body of an announce message and of a discover
// answer: the JetStream domain the robot's decision log is in.
type Announcement struct {
	Schema string `json:"schema"`
	Domain string `json:"domain"`
	Server string `json:"server"`
}

// DefaultAnnounceInterval is how often a leaf node announces itself.
const DefaultAnnounceInterval = 10 * time.Second

// startAnnouncer publishes the announcement now and every interval, and
// answers discover requests, on an in-process connection of its own.
func (e *Embedded) startAnnouncer(domain string, interval time.Duration) error {
	if interval <= 0 {
		interval = DefaultAnnounceInterval
	}
	body, err := json.Marshal(Announcement{Schema: AnnounceSchema, Domain: domain, Server: e.name})
	if err != nil {
		return err
	}
	nc, err := e.Connect(nats.Name("fusiond-announce"))
	if err != nil {
		return fmt.Errorf("embedded nats: announcer: %w", err)
	}
	if _, err := nc.Subscribe(DiscoverSubject, func(m *nats.Msg) {
		if m.Reply != "" {
			_ = m.Respond(body)
		}
	}); err != nil {
		nc.Close()
		return fmt.Errorf("embedded nats: announcer: %w", err)
	}
	subject := AnnounceSubject(domain)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			// Best effort: the next one follows; the hub also asks.
			_ = nc.Publish(subject, body)
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	e.stopAnnounce = sync.OnceFunc(func() {
		close(done)
		wg.Wait()
		nc.Close()
	})
	return nil
}
