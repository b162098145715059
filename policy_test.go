package fusiond_test

import (
	"slices"
	"strings"
	"testing"
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
			replayMatchesLive(t, path, rcfg, live)
		})
	}
}
