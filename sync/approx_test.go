package sync

import (
	"bytes"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/ (the approximate ones with the C++ peer)")

func TestRosScale(t *testing.T) {
	for _, tc := range []struct {
		d     int64
		scale float64
		want  int64
	}{
		{0, 1.1, 0},
		{1e9, 1.1, 1100000000},
		{33333333, 1.1, 36666666},
		{20e6, 1.1, 22000000},
		{1500000001, 1, 1500000001},
	} {
		want := tc.want
		if got := rosScale(tc.d, tc.scale); got != want {
			t.Errorf("rosScale(%d, %v) = %d, want %d", tc.d, tc.scale, got, want)
		}
	}
}

// collectSets returns the sets of events pushed into a fresh Approx.
func collectSets(t *testing.T, cfg ApproxConfig, evs []TraceEvent) [][]int64 {
	t.Helper()
	var out [][]int64
	a, err := NewApprox(cfg, func(set []Member) {
		var s []int64
		for _, m := range set {
			s = append(s, m.TimeNS)
		}
		out = append(out, s)
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, ev := range evs {
		a.Add(ev.Stream, Member{TimeNS: ev.TimeNS, ID: uint64(i)})
	}
	return out
}

// TestApproxKnownAnswers checks small cases worked by hand against the
// algorithm's definition.
func TestApproxKnownAnswers(t *testing.T) {
	ev := func(pairs ...int64) []TraceEvent {
		var e []TraceEvent
		for i := 0; i < len(pairs); i += 2 {
			e = append(e, TraceEvent{Stream: int(pairs[i]), TimeNS: pairs[i+1]})
		}
		return e
	}
	for _, tc := range []struct {
		name string
		cfg  ApproxConfig
		evs  []TraceEvent
		want [][]int64
	}{
		{"pairs are proven by the next message", ApproxConfig{Streams: 2, QueueSize: 10},
			ev(0, 100, 1, 101, 0, 200, 1, 201, 0, 300), [][]int64{{100, 101}, {200, 201}}},
		{"the closer of two candidates wins", ApproxConfig{Streams: 2, QueueSize: 10},
			ev(0, 100, 0, 150, 1, 148, 0, 300, 1, 310, 0, 400, 1, 410), [][]int64{{150, 148}, {300, 310}}},
		{"equal timestamps", ApproxConfig{Streams: 3, QueueSize: 10},
			ev(0, 5, 1, 5, 2, 5, 0, 6, 1, 6, 2, 6, 0, 7), [][]int64{{5, 5, 5}, {6, 6, 6}}},
		{"max interval drops wide sets", ApproxConfig{Streams: 2, QueueSize: 10, MaxIntervalNS: 5},
			ev(0, 100, 1, 120, 0, 200, 1, 203, 0, 300, 1, 301), [][]int64{{200, 203}}},
		{"no set while a stream never starts", ApproxConfig{Streams: 2, QueueSize: 3},
			ev(0, 1, 0, 2, 0, 3, 0, 4, 0, 5), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := collectSets(t, tc.cfg, tc.evs)
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// goldenCases are traces kept under testdata/sync with the C++ peer's sets,
// so that set identity is checked even where the peer cannot be built.
var goldenCases = []struct {
	scenario string
	queue    int
	age      float64
	maxNS    int64
}{
	{"basic", 10, 0.1, 0}, {"jitter", 10, 0.1, 0}, {"offset", 10, 0.1, 0}, {"drift", 10, 0.1, 0},
	{"drops", 10, 0.1, 0}, {"bursts", 10, 0.1, 0}, {"stop-resume", 10, 0.1, 0}, {"rates3", 10, 0.1, 0},
	{"rates4", 10, 0.1, 0}, {"late", 10, 0.1, 0},
	{"jitter", 3, 0.5, 0}, {"drops", 2, 0, 5e6}, {"rates4", 20, 1, 12e6},
}

func TestApproxGolden(t *testing.T) {
	for _, gc := range goldenCases {
		name := fmt.Sprintf("%s-q%d-a%g-m%d", gc.scenario, gc.queue, gc.age, gc.maxNS)
		t.Run(name, func(t *testing.T) {
			tracePath := filepath.Join("..", "testdata", "sync", gc.scenario+".trace")
			setsPath := filepath.Join("..", "testdata", "sync", name+".sets")
			if *update {
				tr, err := GenerateTrace(gc.scenario, 3, 1500)
				if err != nil {
					t.Fatal(err)
				}
				var buf bytes.Buffer
				tr.WriteTo(&buf)
				if err := os.MkdirAll(filepath.Dir(tracePath), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(tracePath, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(setsPath, peerSets(t, tr, gc.queue, gc.age, gc.maxNS), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			f, err := os.Open(tracePath)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			tr, err := ParseTrace(f)
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(setsPath)
			if err != nil {
				t.Fatal(err)
			}
			got := ourSets(t, tr, ApproxConfig{Streams: tr.Streams, QueueSize: gc.queue, AgePenalty: gc.age, MaxIntervalNS: gc.maxNS})
			if !bytes.Equal(got, want) {
				t.Fatalf("sets differ from the peer's: %s", firstDiff(want, got))
			}
		})
	}
}

// randomTrace makes a random trace and parameters. With disorder, streams
// may go backwards in time (which the peer's assertions do not allow).
func randomTrace(seed uint64, disorder bool) (*Trace, ApproxConfig) {
	rng := rand.New(rand.NewPCG(seed, 42))
	n := 2 + rng.IntN(3)
	tr := &Trace{Streams: n}
	last := make([]int64, n)
	for i := range last {
		last[i] = 1e9 + rng.Int64N(1e8)
	}
	periods := make([]int64, n)
	for i := range periods {
		periods[i] = 1 + rng.Int64N(50e6)
	}
	for range 200 + rng.IntN(800) {
		s := rng.IntN(n)
		gap := rng.Int64N(2 * periods[s])
		if rng.IntN(20) == 0 {
			gap = 0
		}
		if disorder && rng.IntN(10) == 0 {
			gap = -rng.Int64N(3 * periods[s])
		}
		last[s] = max(0, last[s]+gap)
		tr.Events = append(tr.Events, TraceEvent{Stream: s, TimeNS: last[s]})
	}
	cfg := ApproxConfig{Streams: n, QueueSize: 1 + rng.IntN(12), AgePenalty: []float64{0, 0.1, 0.5, 1, 3}[rng.IntN(5)]}
	if rng.IntN(3) == 0 {
		cfg.MaxIntervalNS = 1 + rng.Int64N(40e6)
	}
	return tr, cfg
}

// checkApproxInvariants runs a trace and checks what must hold of any
// output: one member per stream, each message used at most once, and every
// message accounted for (in a set, dropped or still queued).
func checkApproxInvariants(t *testing.T, tr *Trace, cfg ApproxConfig) {
	used := make([]bool, len(tr.Events))
	var sets, dropped uint64
	a, err := NewApprox(cfg, func(set []Member) {
		sets++
		if len(set) != cfg.Streams {
			t.Fatalf("set of %d members for %d streams", len(set), cfg.Streams)
		}
		for s, m := range set {
			if tr.Events[m.ID].Stream != s || used[m.ID] {
				t.Fatalf("member %d of stream %d reused or misplaced", m.ID, s)
			}
			used[m.ID] = true
		}
	}, func(s int, m Member) {
		dropped++
		if tr.Events[m.ID].Stream != s || used[m.ID] {
			t.Fatalf("dropped message %d reused or misplaced", m.ID)
		}
		used[m.ID] = true
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, ev := range tr.Events {
		if ev.Stream >= cfg.Streams {
			continue
		}
		a.Add(ev.Stream, Member{TimeNS: ev.TimeNS, ID: uint64(i)})
	}
	var added, pending uint64
	for _, ev := range tr.Events {
		if ev.Stream < cfg.Streams {
			added++
		}
	}
	for i := range cfg.Streams {
		pending += a.Pending(i)
	}
	if sets*uint64(cfg.Streams)+dropped+pending != added {
		t.Fatalf("%d sets × %d + %d dropped + %d pending != %d added", sets, cfg.Streams, dropped, pending, added)
	}
}

func TestApproxInvariantsRandom(t *testing.T) {
	for seed := range uint64(300) {
		tr, cfg := randomTrace(seed, seed%2 == 1)
		checkApproxInvariants(t, tr, cfg)
	}
}

// FuzzApprox feeds arbitrary traces and parameters: no panic, no message
// lost or used twice.
func FuzzApprox(f *testing.F) {
	f.Add([]byte("0 100\n1 101\n0 200\n1 201\n"), uint8(10), uint8(1), uint32(0))
	f.Add([]byte("0 5\n1 5\n2 5\n0 4\n1 3\n2 9\n"), uint8(2), uint8(0), uint32(3))
	f.Fuzz(func(t *testing.T, data []byte, queue, age uint8, maxIvl uint32) {
		tr, err := ParseTrace(bytes.NewReader(data))
		if err != nil || tr.Streams < 2 {
			return
		}
		cfg := ApproxConfig{Streams: tr.Streams, QueueSize: 1 + int(queue%32), AgePenalty: float64(age) / 10, MaxIntervalNS: int64(maxIvl)}
		checkApproxInvariants(t, tr, cfg)
	})
}

func TestApproxConfigRejected(t *testing.T) {
	for _, cfg := range []ApproxConfig{
		{Streams: 1, QueueSize: 10},
		{Streams: 10, QueueSize: 10},
		{Streams: 2, QueueSize: 0},
		{Streams: 2, QueueSize: 10, AgePenalty: -1},
		{Streams: 2, QueueSize: 10, AgePenalty: math.NaN()},
		{Streams: 2, QueueSize: 10, MaxIntervalNS: -1},
		{Streams: 2, QueueSize: 10, LowerBoundsNS: []int64{1}},
	} {
		if _, err := NewApprox(cfg, nil, nil); err == nil {
			t.Errorf("accepted %+v", cfg)
		}
	}
	a, _ := NewApprox(ApproxConfig{Streams: 2, QueueSize: 1}, nil, nil)
	if a.Add(2, Member{}) == nil || a.Add(-1, Member{}) == nil {
		t.Error("accepted a stream out of range")
	}
}

// TestApproxLearnedBounds: with learned lower bounds a set is proven before
// the slow stream's next message.
func TestApproxLearnedBounds(t *testing.T) {
	evs := []TraceEvent{}
	for k := range int64(10) {
		evs = append(evs, TraceEvent{0, k * 100}, TraceEvent{1, k*100 + 3})
	}
	plain := collectSets(t, ApproxConfig{Streams: 2, QueueSize: 10}, evs)
	learned := collectSets(t, ApproxConfig{Streams: 2, QueueSize: 10, LearnLowerBounds: true}, evs)
	if len(learned) <= len(plain) {
		t.Fatalf("learned bounds gave %d sets, plain %d", len(learned), len(plain))
	}
	for i := range plain {
		if fmt.Sprint(plain[i]) != fmt.Sprint(learned[i]) {
			t.Fatalf("set %d: %v vs %v", i, plain[i], learned[i])
		}
	}
}

func TestApproxZeroAllocs(t *testing.T) {
	tr, err := GenerateTrace("rates4", 1, 20000)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := NewApprox(ApproxConfig{Streams: tr.Streams, QueueSize: 10, AgePenalty: 0.1}, func([]Member) {}, func(int, Member) {})
	i := 0
	allocs := testing.AllocsPerRun(10000, func() {
		ev := tr.Events[i%len(tr.Events)]
		a.Add(ev.Stream, Member{TimeNS: ev.TimeNS + int64(i/len(tr.Events))*1e12, ID: uint64(i)})
		i++
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per message", allocs)
	}
}

func benchApproxScenario(b *testing.B, scenario string) {
	tr, err := GenerateTrace(scenario, 1, 200000)
	if err != nil {
		b.Fatal(err)
	}
	var sets int
	a, _ := NewApprox(ApproxConfig{Streams: tr.Streams, QueueSize: 10, AgePenalty: 0.1}, func([]Member) { sets++ }, nil)
	b.ReportAllocs()
	n, lap := 0, int64(0)
	for b.Loop() {
		ev := tr.Events[n]
		a.Add(ev.Stream, Member{TimeNS: ev.TimeNS + lap, ID: uint64(n)})
		if n++; n == len(tr.Events) {
			n, lap = 0, lap+1e12 // next lap, later in time
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

func BenchmarkApproxBasic(b *testing.B)  { benchApproxScenario(b, "basic") }
func BenchmarkApproxJitter(b *testing.B) { benchApproxScenario(b, "jitter") }
func BenchmarkApproxRates4(b *testing.B) { benchApproxScenario(b, "rates4") }

func ExampleApprox() {
	a, _ := NewApprox(ApproxConfig{Streams: 2, QueueSize: 10, AgePenalty: 0.1}, func(set []Member) {
		fmt.Println("set", set[0].TimeNS, set[1].TimeNS)
	}, nil)
	for i, ev := range []TraceEvent{{0, 1000}, {1, 1004}, {0, 1033}, {1, 1024}, {1, 1044}, {0, 1066}} {
		a.Add(ev.Stream, Member{TimeNS: ev.TimeNS, ID: uint64(i)})
	}
	// Output:
	// set 1000 1004
	// set 1033 1024
}
