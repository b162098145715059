package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// decisionSchema compiles docs/schema/fusiond.decision.v1.json.
func decisionSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	path, err := filepath.Abs("../../docs/schema/fusiond.decision.v1.json")
	if err != nil {
		t.Fatal(err)
	}
	sch, err := jsonschema.NewCompiler().Compile(path)
	if err != nil {
		t.Fatalf("compile schema: %v", err)
	}
	return sch
}

// checkDecision validates one published decision against the schema and
// the rule that contributions sum to the logit.
func checkDecision(t *testing.T, sch *jsonschema.Schema, payload []byte) {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(payload))
	if err != nil {
		t.Fatalf("not JSON: %v: %s", err, payload)
	}
	if err := sch.Validate(v); err != nil {
		t.Fatalf("decision does not validate: %v\n%s", err, payload)
	}
	var d struct {
		Logit         float64
		Contributions map[string]float64
	}
	if err := json.Unmarshal(payload, &d); err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, c := range d.Contributions {
		sum += c
	}
	if math.Abs(sum-d.Logit) > 1e-9 {
		t.Fatalf("contributions sum to %v, logit is %v", sum, d.Logit)
	}
}

// subscriber collects the decisions published on a server that may not be
// up yet.
type subscriber struct {
	nc   *nats.Conn
	mu   sync.Mutex
	msgs []*nats.Msg
}

func subscribe(t *testing.T, port int) *subscriber {
	t.Helper()
	url := "nats://127.0.0.1:" + strconv.Itoa(port)
	s := &subscriber{}
	deadline := time.Now().Add(20 * time.Second)
	for {
		nc, err := nats.Connect(url, nats.Timeout(time.Second))
		if err == nil {
			s.nc = nc
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no server at %s: %v", url, err)
		}
		time.Sleep(20 * time.Millisecond) // polling for a process to come up
	}
	// What a reader may subscribe to (sinks/roles.go): not fusion.>.
	for _, subj := range []string{"fusion.*.decision.>", "fusion.*.status", "fusion.*.sensor.>"} {
		_, err := s.nc.Subscribe(subj, func(m *nats.Msg) {
			s.mu.Lock()
			s.msgs = append(s.msgs, m)
			s.mu.Unlock()
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := s.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.nc.Close)
	return s
}

// waitFor polls until at least n decisions arrived, or fails at the deadline.
func (s *subscriber) waitFor(t *testing.T, n int, timeout time.Duration) []*nats.Msg {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got := s.decisions()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("got %d decisions in %v, want %d", len(got), timeout, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (s *subscriber) decisions() []*nats.Msg {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*nats.Msg
	for _, m := range s.msgs {
		if len(m.Subject) > 0 && m.Header.Get(nats.MsgIdHdr) != "" {
			out = append(out, m)
		}
	}
	return out
}

// writeFile writes a test file and returns its path.
func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func listenArg(port int) string { return fmt.Sprintf("nats.embedded.listen=127.0.0.1:%d", port) }
