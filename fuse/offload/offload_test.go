package offload_test

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/seed-4c364652/fusiond/fuse"
	"github.com/seed-4c364652/fusiond/fuse/offload"
	"github.com/seed-4c364652/fusiond/fuse/offload/offloadtest"
	"github.com/seed-4c364652/fusiond/ingest/av"
)

// lines is each decision as JSON, latency_ns left out.
func lines(t *testing.T, ds []*av.Decision) []string {
	t.Helper()
	out := make([]string, len(ds))
	for i, d := range ds {
		x := d.Decision
		x.LatencyNS = nil
		b, err := json.Marshal(&x)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = string(b)
	}
	return out
}

// TestOffloadedDecisionsEqualInProcess: the robot's own decisions equal
// those a Fusion makes from decode(encode(tick)) of its offloaded ticks,
// also when the Fusion is replaced mid-way by one restored from a
// checkpoint (a worker handover).
func TestOffloadedDecisionsEqualInProcess(t *testing.T) {
	cfg := offloadtest.Config("r1")
	bundles := offloadtest.Scene(1, 1_700_000_000_000, 900)
	want, err := offloadtest.Fuse(cfg, bundles)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]bool{}
	for _, d := range want {
		kinds[d.Kind+"/"+d.State] = true
		if len(d.MissingStreams) > 0 {
			kinds["missing_streams"] = true
		}
	}
	for _, k := range []string{"activity/active", "motion/active", "motion/inactive", "sound_event/active", "sound_event/unknown", "speech/unknown", "missing_streams"} {
		if !kinds[k] {
			t.Fatalf("the scene makes no %s decision (%v): the test would prove little", k, kinds)
		}
	}
	ticks, err := offloadtest.Ticks(cfg, bundles)
	if err != nil {
		t.Fatal(err)
	}
	for _, handover := range []int{-1, 1, 317, len(ticks) - 1} {
		f, err := fuse.NewFusion("r1", offloadtest.Decide(), nil)
		if err != nil {
			t.Fatal(err)
		}
		var got []*av.Decision
		emit := func(d *av.Decision) { got = append(got, d) }
		var buf []byte
		for i := range ticks {
			if i == handover {
				st, err := f.MarshalState()
				if err != nil {
					t.Fatal(err)
				}
				if f, err = fuse.NewFusion("r1", offloadtest.Decide(), nil); err != nil {
					t.Fatal(err)
				}
				if err := f.UnmarshalState(st); err != nil {
					t.Fatal(err)
				}
			}
			buf = offload.Append(buf[:0], &offload.Bundle{Robot: "r1", Boot: "b1", Seq: uint64(i + 1), Tick: ticks[i]})
			b, err := offload.Decode(buf)
			if err != nil {
				t.Fatalf("tick %d: %v", i+1, err)
			}
			if b.Robot != "r1" || b.Boot != "b1" || b.Seq != uint64(i+1) {
				t.Fatalf("tick %d decoded as %s %s %d", i+1, b.Robot, b.Boot, b.Seq)
			}
			f.Apply(&b.Tick, emit)
		}
		w, g := lines(t, want), lines(t, got)
		if !slices.Equal(w, g) {
			for i := range min(len(w), len(g)) {
				if w[i] != g[i] {
					t.Fatalf("handover at %d: decision %d differs:\nrobot  %s\nworker %s", handover, i, w[i], g[i])
				}
			}
			t.Fatalf("handover at %d: %d decisions in process, %d offloaded", handover, len(w), len(g))
		}
	}
}

func TestStepBundleIsCompact(t *testing.T) {
	ticks, err := offloadtest.Ticks(offloadtest.Config("r1"), offloadtest.Scene(2, 0, 60))
	if err != nil {
		t.Fatal(err)
	}
	for _, tk := range ticks {
		n := len(offload.Append(nil, &offload.Bundle{Robot: "r1", Boot: "b1", Seq: 1, Tick: tk}))
		if tk.Kind == fuse.TickStep && n > 200 {
			t.Fatalf("a step bundle of %d evidence entries is %d bytes", len(tk.Evidence), n)
		}
	}
}

func TestDecodeRefuses(t *testing.T) {
	good := offload.Append(nil, &offload.Bundle{Robot: "r1", Boot: "b1", Seq: 3, Tick: fuse.Tick{Kind: fuse.TickInterval,
		TimeNS: -5, Missing: []string{"video"}, MissingStreams: []string{"cam0"}, Evidence: map[string]float64{"bundles": 3, "zz_new": 1}, Logit: 0.5,
		Contributions: map[string]float64{"prior": -2}}})
	b, err := offload.Decode(good)
	if err != nil || b.Tick.Evidence["zz_new"] != 1 || b.Tick.TimeNS != -5 || len(b.Tick.MissingStreams) != 1 || b.Tick.Logit != 0.5 || b.Tick.Contributions["prior"] != -2 {
		t.Fatalf("%+v %v", b, err)
	}
	v2 := slices.Clone(good)
	v2[4] = 2
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "not a feature bundle"},
		{"version", v2, "version 2"},
		{"truncated", good[:len(good)-3], "truncated"},
		{"trailing", append(slices.Clone(good), 0), "trailing"},
		{"huge count", append(slices.Clone(good[:7]), 0xff, 0xff, 0xff, 0xff, 0x0f), "past the end"},
	} {
		_, err := offload.Decode(c.data)
		if !errors.Is(err, offload.ErrMalformed) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}

func FuzzDecode(f *testing.F) {
	ticks, err := offloadtest.Ticks(offloadtest.Config("r1"), offloadtest.Scene(3, 0, 40))
	if err != nil {
		f.Fatal(err)
	}
	for i, tk := range ticks[:20] {
		f.Add(offload.Append(nil, &offload.Bundle{Robot: "r1", Boot: "b", Seq: uint64(i + 1), Tick: tk}))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := offload.Decode(data)
		if err != nil {
			return
		}
		// What decodes encodes to bytes that decode to the same bundle.
		again := offload.Append(nil, b)
		b2, err := offload.Decode(again)
		if err != nil {
			t.Fatalf("re-encoded %x: %v", again, err)
		}
		if third := offload.Append(nil, b2); string(third) != string(again) {
			t.Fatalf("re-encoded %x, then %x", again, third)
		}
	})
}
