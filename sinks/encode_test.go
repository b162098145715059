package sinks

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/seed-4c364652/fusiond/ingest/av"
)

// TestEncodeDecision: the latencies come from the stamps, and the bytes are
// encoding/json's of the stamped decision (decision.Append is tested
// against encoding/json on random decisions in sinks/decision).
func TestEncodeDecision(t *testing.T) {
	d1, d2 := benchDecision(3), benchDecision(3)
	d1.Stamps, d2.Stamps = av.Stamps{10, 20, 30, 40}, av.Stamps{10, 20, 30, 40}
	d1.StampLatency()
	want, _ := json.Marshal(d1)
	got, err := EncodeDecision(d2)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("encoding/json %s\nEncodeDecision %s (%v)", want, got, err)
	}
	if d2.LatencyNS["capture_to_arrival"] != 10 || d2.LatencyNS["fuse_to_publish"] != 0 {
		t.Fatalf("latency %v", d2.LatencyNS)
	}
}
