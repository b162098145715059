package sync

import (
	"errors"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/seed-4c364652/fusiond/ingest/av"
)

// camFrame is camera cam's frame seq, captured at captureMS, arrived 2 ms
// later.
func camFrame(cam, seq int, captureMS int64) *av.Frame {
	f := frame(seq, captureMS, t0+(captureMS+2)*ms)
	f.Stream = av.StreamID("cam" + string(rune('0'+cam)))
	return f
}

// setsOf runs a FrameSets over frames (camera, capture ms), in order, and
// returns each set as its frames' "cam:capture ms" and its time, and the
// capture times of the frames dropped.
func setsOf(t *testing.T, cfg FrameSetsConfig, in [][2]int64) (sets [][]int64, times []int64, dropped []int64) {
	t.Helper()
	fs, err := NewFrameSets(cfg, func(set []*av.Frame, timeNS int64) {
		var s []int64
		for i, f := range set {
			if f == nil {
				s = append(s, -1)
				continue
			}
			s = append(s, int64(i)*1e6+(f.CaptureNS-t0)/ms)
		}
		sets, times = append(sets, s), append(times, (timeNS-t0)/ms)
	}, func(f *av.Frame) { dropped = append(dropped, (f.CaptureNS-t0)/ms) })
	if err != nil {
		t.Fatal(err)
	}
	for i, x := range in {
		if err := fs.Add(int(x[0]), camFrame(int(x[0]), i, x[1])); err != nil {
			t.Fatal(err)
		}
	}
	fs.Flush()
	return sets, times, dropped
}

// TestFrameSets: known answers of each policy. A set is one frame per
// camera (camera i's at i·1e6 + capture ms), its time its newest frame's
// capture time; with one camera every policy makes a set of each frame.
func TestFrameSets(t *testing.T) {
	one := [][2]int64{{0, 0}, {0, 33}, {0, 66}, {0, 100}}
	for _, tc := range []struct {
		name    string
		cfg     FrameSetsConfig
		in      [][2]int64
		sets    [][]int64
		times   []int64
		dropped []int64
	}{
		{"window, one camera", FrameSetsConfig{Cameras: 1}, one,
			[][]int64{{0}, {33}, {66}, {100}}, []int64{0, 33, 66, 100}, nil},
		{"approximate, one camera", FrameSetsConfig{Policy: PolicyApproximate, Cameras: 1, QueueSize: 10}, one,
			[][]int64{{0}, {33}, {66}, {100}}, []int64{0, 33, 66, 100}, nil},
		{"exact, one camera", FrameSetsConfig{Policy: PolicyExact, Cameras: 1, QueueSize: 10}, one,
			[][]int64{{0}, {33}, {66}, {100}}, []int64{0, 33, 66, 100}, nil},
		{"approximate, two cameras 10 ms apart", FrameSetsConfig{Policy: PolicyApproximate, Cameras: 2, QueueSize: 10},
			[][2]int64{{0, 0}, {1, 10}, {0, 100}, {1, 110}, {0, 200}, {1, 210}, {0, 300}, {1, 310}},
			// The last pair is not proven optimal before the input ends.
			[][]int64{{0, 1_000_010}, {100, 1_000_110}, {200, 1_000_210}}, []int64{10, 110, 210}, []int64{300, 310}},
		{"exact, two triggered cameras and a stray frame", FrameSetsConfig{Policy: PolicyExact, Cameras: 2, QueueSize: 10},
			[][2]int64{{0, 0}, {1, 0}, {0, 100}, {1, 150}, {1, 100}, {0, 200}, {1, 200}},
			[][]int64{{0, 1_000_000}, {100, 1_000_100}, {200, 1_000_200}}, []int64{0, 100, 200}, []int64{150}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sets, times, dropped := setsOf(t, tc.cfg, tc.in)
			if !reflect.DeepEqual(sets, tc.sets) || !reflect.DeepEqual(times, tc.times) || !reflect.DeepEqual(dropped, tc.dropped) {
				t.Fatalf("sets %v at %v, dropped %v; want %v at %v, dropped %v", sets, times, dropped, tc.sets, tc.times, tc.dropped)
			}
		})
	}
}

func TestFrameSetsBadConfig(t *testing.T) {
	for _, cfg := range []FrameSetsConfig{
		{Cameras: 2},
		{Policy: "fastest", Cameras: 1},
		{Policy: PolicyApproximate, Cameras: 0},
		{Policy: PolicyExact, Cameras: MaxApproxStreams + 1, QueueSize: 10},
		{Policy: PolicyApproximate, Cameras: 2, QueueSize: 0},
	} {
		if _, err := NewFrameSets(cfg, func([]*av.Frame, int64) {}, func(*av.Frame) {}); !errors.Is(err, ErrConfig) {
			t.Errorf("%+v: err %v, want ErrConfig", cfg, err)
		}
	}
	c := testConfig()
	c.Policy = "fastest"
	if _, err := NewFrameSync(c, av.NewDrops()); !errors.Is(err, ErrConfig) {
		t.Errorf("FrameSync with policy %q: err %v, want ErrConfig", c.Policy, err)
	}
}

// TestPoliciesAgreeWithOneCamera: with one camera, approximate and exact
// give the window policy's bundles (frames, audio, missing markers),
// deadlines hit or not.
func TestPoliciesAgreeWithOneCamera(t *testing.T) {
	run := func(p Policy, maxWaitNS int64, seed uint64) []got {
		cfg := testConfig()
		cfg.Policy, cfg.MaxWaitNS = p, maxWaitNS
		s, err := NewFrameSync(cfg, av.NewDrops())
		if err != nil {
			t.Fatal(err)
		}
		var out []got
		emit := collect(&out)
		rng := rand.New(rand.NewPCG(seed, 2))
		video, audio := events()
		audio = audio[:100] // the microphone stops halfway: deadlines and missing audio
		for len(video) > 0 || len(audio) > 0 {
			if len(audio) == 0 || (len(video) > 0 && rng.IntN(2) == 0) {
				s.Push(video[0](), emit)
				video = video[1:]
			} else {
				s.Push(audio[0](), emit)
				audio = audio[1:]
			}
		}
		s.Advance(t0+10e9, emit)
		s.Flush(emit)
		return out
	}
	for _, maxWait := range []int64{100 * ms, 10e9} {
		for seed := range uint64(5) {
			want := run(PolicyWindow, maxWait, seed)
			if len(want) < 60 {
				t.Fatalf("window made %d bundles, want ≥ 60", len(want))
			}
			for _, p := range []Policy{"", PolicyApproximate, PolicyExact} {
				if g := run(p, maxWait, seed); !reflect.DeepEqual(g, want) {
					t.Fatalf("policy %q (max wait %d ms, seed %d) differs from window:\n%v\nwant\n%v", p, maxWait/ms, seed, g, want)
				}
			}
		}
	}
}
