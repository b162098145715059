package sinks

import (
	"encoding/json"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestLeafAnnounces: a leaf node with a domain is named after it (a hub
// replaces a leaf connection by one of the same server name), takes a
// hub cluster's nodes as one remote, announces its domain and answers
// discover requests.
func TestLeafAnnounces(t *testing.T) {
	defer goleak.VerifyNone(t)
	e, err := StartEmbedded(EmbeddedConfig{Domain: "r9", AnnounceInterval: 20 * time.Millisecond,
		LeafRemotes: []string{"nats-leaf://127.0.0.1:1, nats-leaf://127.0.0.1:2"}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Shutdown()
	if got := e.Server().Name(); got != "fusiond-r9" {
		t.Errorf("server name %q, want fusiond-r9", got)
	}
	if r := e.opts.LeafNode.Remotes; len(r) != 1 || len(r[0].URLs) != 2 {
		t.Fatalf("leaf remotes %+v, want one with two URLs", r)
	}
	nc, err := e.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	sub, err := nc.SubscribeSync(AnnounceSubjects)
	if err != nil {
		t.Fatal(err)
	}
	m, err := sub.NextMsg(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	want := Announcement{Schema: AnnounceSchema, Domain: "r9", Server: "fusiond-r9"}
	var a Announcement
	if err := json.Unmarshal(m.Data, &a); err != nil || a != want || m.Subject != AnnounceSubject("r9") {
		t.Fatalf("announce on %s: %+v, %v; want %+v", m.Subject, a, err, want)
	}
	reply, err := nc.Request(DiscoverSubject, nil, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(reply.Data, &a); err != nil || a != want {
		t.Fatalf("discover answer: %+v, %v", a, err)
	}
}
