package camera

import "testing"

type fixedMono int64

func (m fixedMono) MonoNS() int64 { return int64(m) }

func TestDriverTime(t *testing.T) {
	const arrival = 5_000_000_000
	for _, tc := range []struct {
		posMS float64
		mono  int64
		want  int64
		ok    bool
	}{
		{1000, 1_010_000_000, arrival - 10_000_000, true}, // 10 ms old
		{0, 1_000_000_000, 0, false},                      // no stamp
		{1000, 9_000_000_000, 0, false},                   // 8 s old: not monotonic time
		{1000, 500_000_000, 0, false},                     // in the future
		{1000, 1_000_000_000, arrival, true},
	} {
		got, ok := driverTime(tc.posMS, arrival, fixedMono(tc.mono))
		if got != tc.want || ok != tc.ok {
			t.Errorf("driverTime(%v, mono %d) = %d, %v; want %d, %v", tc.posMS, tc.mono, got, ok, tc.want, tc.ok)
		}
	}
}
