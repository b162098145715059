package fusiond_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/seed-4c364652/fusiond"
	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/ingest/recording"
)

// TestSampleTapAndVersion runs the example's two-second scene with a
// sample tap and a version of the embedder's: the tap sees every sample
// the source delivered, once, in capture order per stream, and the
// recording's metadata names the version given.
func TestSampleTapAndVersion(t *testing.T) {
	cfg := exampleConfig(t)
	const startNS = int64(1_700_000_000e9)
	src, err := newScene(av.NewVirtualClock(startNS))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[av.StreamID][]uint64{} // stream → sequence numbers, in tap order
	tap := func(s av.Sample) {
		m := s.SampleMeta()
		seen[m.Stream] = append(seen[m.Stream], m.Seq)
	}
	rec := filepath.Join(t.TempDir(), "run.mcap")
	d, err := fusiond.New(cfg,
		fusiond.WithClock(av.NewVirtualClock(startNS)),
		fusiond.WithSource("cam0", src),
		fusiond.WithSource("mic0", nil),
		fusiond.WithSampleTap(tap),
		fusiond.WithRecording(rec),
		fusiond.WithVersion("v9.8.7-embedder", "abc123"),
	)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Two seconds: 60 frames at 30 fps, 100 chunks of 20 ms.
	for stream, want := range map[av.StreamID]int{"cam0": 60, "mic0": 100} {
		got := seen[stream]
		if len(got) != want {
			t.Errorf("%s: the tap saw %d samples, want %d", stream, len(got), want)
		}
		for i, seq := range got {
			if seq != uint64(i) {
				t.Errorf("%s: sample %d has seq %d: out of order or seen twice", stream, i, seq)
				break
			}
		}
	}
	r, err := recording.Open(rec)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got, want := r.Metadata()["version"], "v9.8.7-embedder abc123"; got != want {
		t.Errorf("recording metadata version %q, want %q", got, want)
	}
}
