package fusiond

import (
	"testing"

	"github.com/seed-4c364652/fusiond/configs"
	"github.com/seed-4c364652/fusiond/fuse/vision"
)

// Every face cascade a configuration may name is one fuse/vision runs.
func TestFaceCascadeNamesResolve(t *testing.T) {
	for _, n := range configs.FaceCascadeNames {
		cs, err := vision.CascadesByName([]string{n})
		if err != nil || len(cs) == 0 {
			t.Errorf("%s: %v, %d cascades", n, err, len(cs))
		}
	}
	if _, err := vision.CascadesByName([]string{"lbp_frontal", "nope"}); err == nil {
		t.Error("an unknown name resolved")
	}
}
