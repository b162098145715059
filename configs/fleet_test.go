package configs

import (
	"strings"
	"testing"
)

// TestLeafDomainDefaultsToRobot: a robot joining a hub keeps its decision
// log in a JetStream domain of its own, its id unless set.
func TestLeafDomainDefaultsToRobot(t *testing.T) {
	for _, tc := range []struct {
		name string
		sets []string
		want string
	}{
		{"no leaf: no domain", []string{"robot=r7"}, ""},
		{"leaf: the robot id", []string{"robot=r7", `nats.embedded.leaf.remotes=["nats-leaf://hub:7422"]`}, "r7"},
		{"leaf: a domain set stays", []string{"robot=r7", "nats.embedded.domain=yard", `nats.embedded.leaf.remotes=["nats-leaf://hub:7422"]`}, "yard"},
		{"a hub cluster's nodes in one remote", []string{"robot=r7", `nats.embedded.leaf.remotes=["nats-leaf://a:7422,nats-leaf://b:7422"]`}, "r7"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Parse("", nil, tc.sets)
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.NATS.Embedded.Domain; got != tc.want {
				t.Fatalf("nats.embedded.domain = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestFleetValidation(t *testing.T) {
	for _, tc := range []struct {
		sets []string
		want string
	}{
		{[]string{"fleet.stream=a.b"}, "fleet.stream"},
		{[]string{"fleet.stream="}, "fleet.stream"},
		{[]string{"fleet.hub_domain=a b"}, "fleet.hub_domain"},
		{[]string{"fleet.replicas=0"}, "fleet.replicas: 0 is out of range 1..5"},
		{[]string{"fleet.replicas=6"}, "fleet.replicas"},
		{[]string{"fleet.max_age=-1s"}, "fleet.max_age"},
		{[]string{"fleet.max_bytes=-1"}, "fleet.max_bytes"},
		{[]string{"fleet.duplicate_window=10s"}, "fleet.duplicate_window"},
		{[]string{"fleet.check_interval=1ms"}, "fleet.check_interval"},
		{[]string{"nats.embedded.leaf.announce_interval=0s"}, "nats.embedded.leaf.announce_interval"},
		{[]string{"fleet.hub_domain=hub", "nats.embedded.domain=hub", `nats.embedded.leaf.remotes=["nats-leaf://hub:7422"]`}, "is the hub's domain"},
	} {
		_, err := Parse("", nil, tc.sets)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("--set %v: want an error with %q, got %v", tc.sets, tc.want, err)
		}
	}
}
