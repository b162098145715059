package client_test

import (
	"fmt"

	"github.com/seed-4c364652/fusiond/sinks/client"
)

func ExampleDecode() {
	d, err := client.Decode([]byte(`{"schema":"fusiond.decision.v1","robot":"demo","kind":"activity","seq":7,
		"time_ns":1795755638492620365,"confidence":0.927,"logit":2.54,
		"contributions":{"audio":1.5,"prior":0,"video":1.04},"missing":[],"degraded":false,
		"evidence":{},"latency_ns":{}}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(d.Robot, d.Kind, d.Seq, d.Confidence, d.Contributions["video"])
	_, err = client.Decode([]byte(`{"schema":"fusiond.decision.v2","robot":"demo","kind":"activity","seq":1}`))
	fmt.Println(err)
	// Output:
	// demo activity 7 0.927 1.04
	// unsupported schema: "fusiond.decision.v2" (this client reads v1)
}

func ExampleStreamName() {
	fmt.Println(client.StreamName("r2"), client.DecisionSubject("r2", ">"), client.ControlSubject("r2", "status"))
	// Output: FUSIOND_r2 fusion.r2.decision.> fusion.r2.ctl.status
}
