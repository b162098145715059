package decision_test

import (
	"errors"
	"fmt"

	"github.com/seed-4c364652/fusiond/sinks/decision"
)

func ExampleAppend() {
	d := &decision.Decision{Schema: decision.Schema, Robot: "demo", Kind: "motion", Seq: 1, TimeNS: 5,
		Confidence: 0.5, Contributions: map[string]float64{"prior": 0}, State: decision.StateInactive}
	b, _ := decision.Append(nil, d)
	fmt.Println(string(b))
	got, err := decision.Decode(b)
	fmt.Println(got.Kind, got.State, err)
	_, err = decision.Decode([]byte(`{"schema":"fusiond.decision.v2"}`))
	fmt.Println(errors.Is(err, decision.ErrSchema))
	// Output:
	// {"schema":"fusiond.decision.v1","robot":"demo","kind":"motion","seq":1,"time_ns":5,"confidence":0.5,"logit":0,"contributions":{"prior":0},"missing":null,"degraded":false,"state":"inactive","evidence":null,"latency_ns":null}
	// motion inactive <nil>
	// true
}
