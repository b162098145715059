package sync

import (
	"fmt"
	"strings"
)

func ExampleApproxSync() {
	s, _ := NewApproxSync(ApproxSyncConfig{ApproxConfig: ApproxConfig{Streams: 2, QueueSize: 10, AgePenalty: 0.1}, MaxWaitNS: 100},
		func(set []Member, missing uint16) {
			fmt.Println("set", set[0].TimeNS, set[1].TimeNS, "missing", missing)
		}, nil)
	s.Add(0, Member{TimeNS: 1000}, 1000)
	s.Add(1, Member{TimeNS: 1003}, 1003)
	s.Add(0, Member{TimeNS: 1033}, 1033)
	s.Add(1, Member{TimeNS: 1036}, 1036)
	s.Add(0, Member{TimeNS: 1066}, 1066)
	// Stream 1 stops; stream 0 goes on alone once stream 1 is idle.
	s.Add(0, Member{TimeNS: 1200}, 1200)
	// Output:
	// set 1000 1003 missing 0
	// set 1033 1036 missing 0
	// set 1066 0 missing 2
	// set 1200 0 missing 2
}

func ExampleExact() {
	x, _ := NewExact(ExactConfig{Streams: 2, QueueSize: 4}, func(set []Member) {
		fmt.Println("set", set[0].TimeNS, set[1].TimeNS)
	}, nil)
	x.Add(0, Member{TimeNS: 10})
	x.Add(1, Member{TimeNS: 11})
	x.Add(1, Member{TimeNS: 20})
	x.Add(0, Member{TimeNS: 20})
	// Output:
	// set 20 20
}

func ExampleAudioClock() {
	c, _ := NewAudioClock(ClockConfig{RateHz: 48000, OffsetNS: -5e6})
	// A device 100 ppm slow delivering 480-frame chunks every ~10 ms.
	for k := int64(0); k < 1000; k++ {
		c.Observe(k*480, 480, 1e12+(k+1)*10_001_000+5e6)
	}
	fmt.Printf("drift %.0f ppm; frame 480000 at +%.3f s\n", c.DriftPPM(), float64(c.TimeOf(480000)-1e12)/1e9)
	// Output:
	// drift 100 ppm; frame 480000 at +10.001 s
}

func ExampleParseTrace() {
	tr, err := ParseTrace(strings.NewReader("# fusiond-trace v1\n0 1000\n1 1004\n"))
	fmt.Println(tr.Streams, len(tr.Events), err)
	// Output:
	// 2 2 <nil>
}

func ExampleGenerateTrace() {
	tr, _ := GenerateTrace("rates4", 1, 1000)
	fmt.Println(tr.Streams, len(tr.Events))
	// Output:
	// 4 1000
}
