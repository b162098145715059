package bench

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"github.com/seed-4c364652/fusiond/ingest/av"
)

// procStats are the process's CPU time and allocations.
type procStats struct {
	cpuNS   int64
	mallocs uint64
}

func readProc() procStats {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return procStats{cpuNS: ru.Utime.Nano() + ru.Stime.Nano(), mallocs: ms.Mallocs}
}

// resetPeakRSS resets the kernel's peak RSS (VmHWM) of this process.
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peakRSSMB is VmHWM, in MB.
func peakRSSMB() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 64)
			return kb / 1024
		}
	}
	return 0
}

// loadAvg1 is the machine's 1-minute load average (0 if unknown): on a
// shared machine, what the other processes took beside a run.
func loadAvg1() float64 {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(data))
	if len(f) == 0 {
		return 0
	}
	x, _ := strconv.ParseFloat(f[0], 64)
	return x
}

// Machine names the CPU, its count, the platform and the Go version.
func Machine() string {
	model := ""
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if rest, ok := strings.CutPrefix(line, "model name"); ok {
				model = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(rest), ":"))
				break
			}
		}
	}
	return fmt.Sprintf("%s, %d CPUs, %s/%s, %s", model, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version())
}

// cpuSampler reads the process's CPU time every 10 ms, so that a run's CPU
// use can be taken over its working window alone.
type cpuSampler struct {
	stopOnce func()
	done     chan []cpuSample
}

type cpuSample struct{ atNS, cpuNS int64 }

func startCPUSampler(clock av.Clock) *cpuSampler {
	ctx, cancel := context.WithCancel(context.Background())
	s := &cpuSampler{stopOnce: cancel, done: make(chan []cpuSample, 1)}
	go func() {
		var out []cpuSample
		next := clock.Now()
		for {
			var ru syscall.Rusage
			_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
			out = append(out, cpuSample{clock.Now(), ru.Utime.Nano() + ru.Stime.Nano()})
			next += 10e6
			if clock.WaitUntil(ctx, next) != nil {
				s.done <- out
				return
			}
		}
	}()
	return s
}

func (s *cpuSampler) stop() []cpuSample {
	s.stopOnce()
	return <-s.done
}

// cpuWindow returns the CPU time at the samples nearest fromNS and toNS.
func cpuWindow(samples []cpuSample, fromNS, toNS int64) (int64, int64, bool) {
	if len(samples) < 2 || toNS <= fromNS {
		return 0, 0, false
	}
	at := func(t int64) int64 {
		best := samples[0]
		for _, x := range samples {
			if x.atNS <= t {
				best = x
			}
		}
		return best.cpuNS
	}
	return at(fromNS), at(toNS), true
}
