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

// Bearings, the camera and the missing streams are optional: absent from
// an older daemon, and where there is nothing to say.
func ExampleDecision_bearing() {
	d, err := client.Decode([]byte(`{"schema":"fusiond.decision.v1","robot":"demo","kind":"speaker","camera":"cam0","seq":9,
		"time_ns":1795755638492620365,"confidence":0.81,"logit":1.45,"contributions":{"prior":-3},
		"missing":["audio"],"missing_streams":["mic0"],"degraded":true,"state":"unknown",
		"bearing_deg":75,"camera_bearing_deg":-15,"evidence":{},"latency_ns":{}}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	if d.BearingDeg != nil {
		fmt.Printf("%s in %s at %v° (robot), %v° (camera)\n", d.Kind, d.Camera, *d.BearingDeg, *d.CameraBearingDeg)
	}
	fmt.Println("missing", d.Missing, d.MissingStreams)
	// Output:
	// speaker in cam0 at 75° (robot), -15° (camera)
	// missing [audio] [mic0]
}
