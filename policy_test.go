package fusiond_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/seed-4c364652/fusiond"
	"github.com/seed-4c364652/fusiond/sinks"
)

// TestSyncPolicies: a daemon runs under each sync.policy and makes
// decisions; with one camera approximate and exact make window's; and a
// replay of each run's recording makes that run's decisions (all fields
// but latency_ns), byte-identical twice.
func TestSyncPolicies(t *testing.T) {
	var window []string
	for _, policy := range []string{"window", "approximate", "exact"} {
		t.Run(policy, func(t *testing.T) {
			cfg := exampleConfig(t)
			cfg.Sync.Policy = policy
			path, live := recordScene(t, cfg, nil)
			if len(live) < 4 {
				t.Fatalf("%d decisions, want ≥ 4", len(live))
			}
			if policy == "window" {
				window = live
			} else if !slices.Equal(live, window) {
				t.Fatalf("%s and window differ with one camera:\n%s\nwindow:\n%s", policy, strings.Join(live, "\n"), strings.Join(window, "\n"))
			}
			rcfg, err := recordedConfig(t, path)
			if err != nil {
				t.Fatal(err)
			}
			if rcfg.Sync.Policy != policy {
				t.Fatalf("the recorded config's policy is %q, want %q", rcfg.Sync.Policy, policy)
			}
			var passes [2]*payloads
			for i := range passes {
				passes[i] = &payloads{}
				if err := fusiond.Replay(context.Background(), fusiond.ReplayConfig{Path: path, Config: rcfg, Sinks: []sinks.Sink{passes[i]}}); err != nil {
					t.Fatal(err)
				}
			}
			if !slices.Equal(passes[0].lines, passes[1].lines) {
				t.Fatal("two replays differ")
			}
			var diffs strings.Builder
			for i := range max(len(live), len(passes[0].lines)) {
				var w, g string
				if i < len(live) {
					w = live[i]
				}
				if i < len(passes[0].lines) {
					g = passes[0].lines[i]
				}
				d, err := fusiond.DiffDecision(w, g)
				if err != nil {
					t.Fatal(err)
				}
				diffs.WriteString(d)
			}
			if diffs.Len() > 0 {
				t.Fatalf("the replay differs from the live run:\n%s", diffs.String())
			}
		})
	}
}
