package bench

import (
	"bytes"
	"strings"
	"testing"

	"github.com/seed-4c364652/fusiond/ingest/av"
	avsync "github.com/seed-4c364652/fusiond/sync"
)

// TestSyncSets: every policy's set count is the number of set lines it
// writes, repeats give the same counts, and an unknown policy is refused.
func TestSyncSets(t *testing.T) {
	tr, err := avsync.GenerateTrace("rates3", 4, 600)
	if err != nil {
		t.Fatal(err)
	}
	for _, cfg := range []SyncConfig{
		{Policy: "approximate", QueueSize: 10, AgePenalty: 0.1},
		{Policy: "approximate", QueueSize: 10, AgePenalty: 0.1, MaxWaitNS: 200e6},
		{Policy: "exact", QueueSize: 10},
		{Policy: "window", BeforeNS: 50e6, AfterNS: 10e6},
	} {
		s, err := NewSync(tr, cfg)
		if err != nil {
			t.Fatal(err)
		}
		var sets bytes.Buffer
		res, err := s.Time(av.NewVirtualClock(0), &sets, 2)
		if err != nil {
			t.Fatal(err)
		}
		if res.Messages != len(tr.Events) || res.Sets == 0 && cfg.Policy != "exact" || uint64(strings.Count(sets.String(), "\n")) != res.Sets {
			t.Errorf("%+v: %+v, %d lines written", cfg, res, strings.Count(sets.String(), "\n"))
		}
		again, err := s.Time(av.NewVirtualClock(0), nil, 1)
		if err != nil || again.Sets != res.Sets || again.Extra != res.Extra {
			t.Errorf("%+v: rerun %+v, first %+v (%v)", cfg, again, res, err)
		}
	}
	if _, err := NewSync(tr, SyncConfig{Policy: "magic"}); err == nil || !strings.Contains(err.Error(), "unknown policy") {
		t.Errorf("unknown policy: %v", err)
	}
}
