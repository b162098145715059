package sync

import (
	"cmp"
	"reflect"
	"slices"
	"testing"

	"github.com/seed-4c364652/fusiond/ingest/av"
)

// multiGot is what TestSeveralCamerasAndMicrophones keeps of a bundle.
type multiGot struct {
	TimeMS  int64
	Frames  []int64 // each camera's frame capture time in ms, -1 when missing
	Missing []av.StreamID
	First   []float32 // each microphone's first sample of channel 0
}

// TestSeveralCamerasAndMicrophones: three cameras under approximate sets
// and two microphones make bundles of three frames and two windows, at the
// set's newest capture time; a camera or microphone that stops is named in
// MissingStreams while the others go on. (The last set is still waiting
// for its successor at the end, and is dropped.)
func TestSeveralCamerasAndMicrophones(t *testing.T) {
	const frames = 6
	for _, tc := range []struct {
		name       string
		deadCam    int // camera that stops after frame 1 (-1: none)
		deadMic    bool
		wantLast   multiGot
		wantFirst2 []multiGot
	}{
		{name: "all alive", deadCam: -1,
			wantFirst2: []multiGot{
				{TimeMS: 102, Frames: []int64{100, 101, 102}, First: []float32{52, 2052}},
				{TimeMS: 135, Frames: []int64{133, 134, 135}, First: []float32{85, 2085}},
			},
			wantLast: multiGot{TimeMS: 234, Frames: []int64{232, 233, 234}, First: []float32{184, 2184}}},
		{name: "camera 2 stops", deadCam: 2,
			wantFirst2: []multiGot{
				{TimeMS: 102, Frames: []int64{100, 101, 102}, First: []float32{52, 2052}},
				{TimeMS: 135, Frames: []int64{133, 134, 135}, First: []float32{85, 2085}},
			},
			wantLast: multiGot{TimeMS: 233, Frames: []int64{232, 233, -1}, Missing: []av.StreamID{"cam2"}, First: []float32{183, 2183}}},
		{name: "microphone 1 stops", deadCam: -1, deadMic: true,
			wantFirst2: []multiGot{
				{TimeMS: 102, Frames: []int64{100, 101, 102}, First: []float32{52, 2052}},
				{TimeMS: 135, Frames: []int64{133, 134, 135}, First: []float32{85, 2085}},
			},
			wantLast: multiGot{TimeMS: 234, Frames: []int64{232, 233, 234}, Missing: []av.StreamID{"mic1"}, First: []float32{184, 0}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.Policy = PolicyApproximate
			cfg.MoreVideo = []av.StreamID{"cam1", "cam2"}
			cfg.MoreAudio = []AudioStream{{Stream: "mic1", RateHz: rate, Channels: 2}}
			s, err := NewFrameSync(cfg, av.NewDrops())
			if err != nil {
				t.Fatal(err)
			}
			var out []multiGot
			emit := func(b *av.Bundle) {
				g := multiGot{TimeMS: (b.TimeNS - t0) / ms, Missing: append([]av.StreamID(nil), b.MissingStreams...)}
				for i := range b.Cameras() {
					if f := b.CameraFrame(i); f != nil {
						g.Frames = append(g.Frames, (f.CaptureNS-t0)/ms)
					} else {
						g.Frames = append(g.Frames, -1)
					}
				}
				for i := range b.Microphones() {
					g.First = append(g.First, b.MicAudio(i).Data[0])
				}
				out = append(out, g)
				b.Release()
			}
			// Frames every 33 ms from 100 ms, camera i i ms later, arriving
			// 5 ms after capture; audio chunks arrive as they end.
			var in []av.Sample
			for n := range frames {
				fr := int64(100 + 33*n)
				for i, id := range []av.StreamID{"cam", "cam1", "cam2"} {
					if tc.deadCam == i && n > 1 {
						continue
					}
					f := frame(n, fr+int64(i), t0+(fr+int64(i)+5)*ms)
					f.Stream = id
					in = append(in, f)
				}
			}
			for k := range 30 {
				in = append(in, chunk(k, t0+int64(k*chunkMS+chunkMS)*ms))
				if tc.deadMic && k*chunkMS > 150 {
					continue
				}
				c1 := chunk(k, t0+int64(k*chunkMS+chunkMS)*ms)
				c1.Stream = "mic1"
				for i := range c1.Data {
					c1.Data[i] += 2000
				}
				in = append(in, c1)
			}
			slices.SortStableFunc(in, func(a, b av.Sample) int { return cmp.Compare(a.SampleMeta().ArrivalNS, b.SampleMeta().ArrivalNS) })
			for _, smp := range in {
				s.Push(smp, emit)
			}
			s.Flush(emit)
			if len(out) < 3 {
				t.Fatalf("%d bundles, want at least 3: %+v", len(out), out)
			}
			if !reflect.DeepEqual(out[:2], tc.wantFirst2) {
				t.Errorf("first bundles\n got %+v\nwant %+v", out[:2], tc.wantFirst2)
			}
			if last := out[len(out)-1]; !reflect.DeepEqual(last, tc.wantLast) {
				t.Errorf("last bundle\n got %+v\nwant %+v\nall %+v", last, tc.wantLast, out)
			}
		})
	}
}

// TestSeveralCamerasNeedASetPolicy: the window policy takes one camera.
func TestSeveralCamerasNeedASetPolicy(t *testing.T) {
	cfg := testConfig()
	cfg.MoreVideo = []av.StreamID{"cam1"}
	if _, err := NewFrameSync(cfg, av.NewDrops()); err == nil {
		t.Fatal("window policy with two cameras: no error")
	}
	cfg.Policy = PolicyApproximate
	cfg.MoreVideo = []av.StreamID{"mic"}
	if _, err := NewFrameSync(cfg, av.NewDrops()); err == nil {
		t.Fatal("a camera stream named like the microphone: no error")
	}
}

// FuzzFrameSyncCameras pushes arbitrary samples of three cameras and two
// microphones under the approximate and exact policies: no panic, every
// frame in its camera's slot or dropped, once; the cameras missing from a
// bundle named in MissingStreams.
func FuzzFrameSyncCameras(f *testing.F) {
	f.Add([]byte{0, 10, 5, 1, 20, 3, 0, 200, 7, 2, 1, 1, 4, 9, 9, 5, 3, 3})
	f.Add([]byte{1, 1, 1, 0, 33, 2, 1, 33, 2, 2, 33, 2, 3, 10, 4, 4, 10, 4, 0, 33, 9})
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg := testConfig()
		cfg.Policy = PolicyApproximate
		if len(data) > 0 && data[0]&1 != 0 {
			cfg.Policy = PolicyExact
		}
		cams := []av.StreamID{"cam", "cam1", "cam2"}
		cfg.MoreVideo = cams[1:]
		cfg.MoreAudio = []AudioStream{{Stream: "mic1", RateHz: rate, Channels: 2}}
		drops := av.NewDrops()
		s, err := NewFrameSync(cfg, drops)
		if err != nil {
			t.Fatal(err)
		}
		var in, out [3]uint64
		emit := func(b *av.Bundle) {
			if b.Cameras() != 3 || b.Microphones() != 2 {
				t.Fatalf("a bundle of %d cameras and %d microphones", b.Cameras(), b.Microphones())
			}
			var missing []av.StreamID
			for i := range 3 {
				f := b.CameraFrame(i)
				if f == nil {
					missing = append(missing, cams[i])
					continue
				}
				if f.Stream != cams[i] {
					t.Fatalf("slot %d holds a frame of %s", i, f.Stream)
				}
				out[i]++
			}
			if n := len(missing); n > 0 && !slices.Equal(b.MissingStreams[:min(n, len(b.MissingStreams))], missing) {
				t.Fatalf("cameras %v missing, MissingStreams %v", missing, b.MissingStreams)
			}
			b.Release()
		}
		arrival := t0
		for i := 0; i+2 < len(data); i += 3 {
			kind, a, b := data[i]%6, int64(data[i+1]), int64(data[i+2])
			arrival += a * ms / 4
			switch kind {
			case 0, 1, 2:
				in[kind]++
				fr := frame(int(in[kind]), b*5+int64(i), arrival)
				fr.Stream = cams[kind]
				s.Push(fr, emit)
			case 3, 4:
				c := chunk(int(b)-20+i/3, arrival)
				if kind == 4 {
					c.Stream = "mic1"
				}
				s.Push(c, emit)
			case 5:
				c := chunk(int(b), arrival)
				c.FirstFrame = -int64(a) * 1000
				s.Push(c, emit)
			}
			if len(s.pending) > cfg.PendingFrames {
				t.Fatalf("%d sets pending", len(s.pending))
			}
		}
		s.Flush(emit)
		for i, cam := range cams {
			dropped := drops.Get(cam, av.DropLate) + drops.Get(cam, av.DropOutOfOrder)
			if out[i]+dropped != in[i] {
				t.Fatalf("%s: %d frames in, %d out, %d dropped", cam, in[i], out[i], dropped)
			}
		}
	})
}
