package camera

import "golang.org/x/sys/unix"

// monoClock reads CLOCK_MONOTONIC, the clock V4L2 stamps buffers with.
type monoClock interface{ MonoNS() int64 }

type realMono struct{}

func (realMono) MonoNS() int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return 0
	}
	return ts.Nano()
}

// maxDriverAgeNS bounds how old a driver timestamp may be at arrival and
// still be believed.
const maxDriverAgeNS = 2e9

// driverTime maps a driver timestamp in monotonic milliseconds onto the
// pipeline clock: the frame is as much older than arrival as its stamp is
// older than the monotonic clock now. It reports false when the stamp is
// missing (0) or implausible (in the future, or older than 2 s).
func driverTime(posMS float64, arrivalNS int64, mono monoClock) (int64, bool) {
	if !(posMS > 0) {
		return 0, false
	}
	age := mono.MonoNS() - int64(posMS*1e6)
	if age < -1e6 || age > maxDriverAgeNS {
		return 0, false
	}
	return arrivalNS - max(age, 0), true
}
