package av

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"github.com/seed-4c364652/fusiond/sinks/decision"
)

// TestDecisionEncodesAsItsMessage: the pipeline's decision encodes as the
// message alone (Stamps stay in the pipeline), with encoding/json and with
// decision.Append alike.
func TestDecisionEncodesAsItsMessage(t *testing.T) {
	d := &Decision{Decision: decision.Decision{Schema: decision.Schema, Robot: "r", Kind: "activity", Seq: 3, TimeNS: 7,
		Confidence: 0.25, Logit: -1.1, Contributions: map[string]float64{"prior": -1.1}, Missing: []string{"audio"},
		Degraded: true, State: decision.StateUnknown, Evidence: map[string]float64{}}, Stamps: Stamps{10, 20, 30, 40, 50}}
	d.StampLatency()
	got, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(&d.Decision)
	fast, _ := decision.Append(nil, &d.Decision)
	if !bytes.Equal(got, want) || !bytes.Equal(fast, want) {
		t.Fatalf("av.Decision %s\nmessage %s\nAppend %s", got, want, fast)
	}
}

// TestImportsOnlyTheMessage: av is the shared vocabulary; of fusiond it
// imports the decision message's leaf package alone.
func TestImportsOnlyTheMessage(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", ".").CombinedOutput()
	if err != nil {
		t.Skipf("go list: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.HasPrefix(pkg, "github.com/seed-4c364652/fusiond/") &&
			pkg != "github.com/seed-4c364652/fusiond/ingest/av" && pkg != "github.com/seed-4c364652/fusiond/sinks/decision" {
			t.Errorf("imports %s", pkg)
		}
	}
}
