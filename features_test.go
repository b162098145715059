package fusiond

import (
	"image"
	"image/png"
	"log/slog"
	"maps"
	"os"
	"slices"
	"testing"

	"github.com/seed-4c364652/fusiond/configs"
	"github.com/seed-4c364652/fusiond/fuse/vision"
	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/internal/testenv"
	"github.com/seed-4c364652/fusiond/sinks/foxglove"
)

// Every face cascade a configuration may name is one fuse/vision runs.
func TestFaceCascadeNamesResolve(t *testing.T) {
	for _, n := range configs.FaceCascadeNames {
		cs, err := vision.CascadesByName([]string{n})
		if err != nil || len(cs) == 0 {
			t.Errorf("%s: %v, %d cascades", n, err, len(cs))
		}
	}
	if _, err := vision.CascadesByName([]string{"lbp_frontal", "nope"}); err == nil {
		t.Error("an unknown name resolved")
	}
}

// TestFaceTapChangesNothing: the visual features with a face tap measure
// what they measure without it (the same evidence, frame for frame, so
// the same decisions), and the tap sees each frame's faces: on a
// photograph of a face (astronaut.png, its face at 176,66–272,162,
// fuse/vision/testdata/faces.txt) moving a pixel a frame, a box over the
// face, marked the speaker candidate once found twice.
func TestFaceTapChangesNothing(t *testing.T) {
	const photo = ".cache/media/python3-skimage/usr/lib/python3/dist-packages/skimage/data/astronaut.png"
	fh, err := os.Open(photo)
	if err != nil {
		t.Skipf("%v: scripts/fetch-media.sh python3-skimage", err)
	}
	img, err := png.Decode(fh)
	fh.Close()
	if err != nil {
		t.Fatal(err)
	}
	cfg := testenv.Config(t, "cameras.0.width=512", "cameras.0.height=512", "fuse.features.video=true", "fuse.features.face_every=3")
	bare := visualFeatures(cfg, 0, slog.New(slog.DiscardHandler))
	tapped := visualFeatures(cfg, 0, slog.New(slog.DiscardHandler))
	if bare == nil || tapped == nil {
		t.Skip("no visual features (nosensors build, or no OpenCV cascades)")
	}
	defer bare.Close()
	var seen []foxglove.Face
	var calls int
	observed := tapFaces(tapped, nil, func(stream av.StreamID, timeNS int64, w, h int, faces []foxglove.Face) {
		if stream != "cam0" || w != 512 || h != 512 || timeNS != int64(calls)*33e6 {
			t.Errorf("tap: %s %dx%d at %d", stream, w, h, timeNS)
		}
		calls++
		seen = append(seen[:0], faces...)
	})
	if _, ok := observed.(*observedFaces); !ok {
		t.Fatalf("the tap did not wrap %T", observed)
	}
	defer observed.Close()
	if tapFaces(bare, nil) != bare {
		t.Error("wrapped without taps")
	}

	const frames = 12
	for i := range frames {
		f := &av.Frame{Width: 512, Height: 512, Stride: 512 * 3, Format: av.BGR24, Pix: make([]byte, 512*512*3)}
		f.Stream, f.CaptureNS = "cam0", int64(i)*33e6
		for y := range 512 {
			for x := range 512 {
				r, g, b, _ := img.At(min(511, max(0, x-i)), y).RGBA()
				o := y*f.Stride + 3*x
				f.Pix[o], f.Pix[o+1], f.Pix[o+2] = byte(b>>8), byte(g>>8), byte(r>>8)
			}
		}
		want, got := map[string]float64{}, map[string]float64{}
		bare.PushFrame(f, want)
		observed.PushFrame(f, got)
		if !maps.Equal(want, got) {
			t.Fatalf("frame %d: evidence %v with the tap, %v without", i, got, want)
		}
	}
	face := image.Rect(176, 66, 272, 162)
	if calls != frames || len(seen) == 0 {
		t.Fatalf("%d tap calls, last faces %v", calls, seen)
	}
	f := seen[0]
	shifted := face.Add(image.Pt(frames-1, 0))
	if in := f.Box.Intersect(shifted); !f.Candidate || in.Dx()*in.Dy() < shifted.Dx()*shifted.Dy()/2 {
		t.Fatalf("faces %v, want the candidate over %v", seen, shifted)
	}
}

// TestHeardMicrophone: the heard kinds read the first microphone with a
// geometry (a bearing), else the first; it is the synchroniser's first
// stream, the others following in config order.
func TestHeardMicrophone(t *testing.T) {
	for _, tc := range []struct {
		name     string
		mics     string // the microphones list, YAML
		want     string
		wantMore []string
	}{
		{name: "one", mics: "[{name: mic0}]", want: "mic0"},
		{name: "mono then stereo", mics: "[{name: mic0, channels: 1}, {name: mic1, channels: 2}]", want: "mic1", wantMore: []string{"mic0"}},
		{name: "no geometry", mics: "[{name: mic0, channels: 1}, {name: mic1, channels: 1}, {name: mic2, channels: 2, geometry: []}]",
			want: "mic0", wantMore: []string{"mic1", "mic2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := configs.Parse("mics.yaml", []byte("microphones: "+tc.mics+"\n"), nil)
			if err != nil {
				t.Fatal(err)
			}
			sc := syncConfig(cfg)
			var more []string
			for _, a := range sc.MoreAudio {
				more = append(more, string(a.Stream))
			}
			if string(sc.Audio) != tc.want || !slices.Equal(more, tc.wantMore) {
				t.Errorf("sync's microphones %s then %v, want %s then %v", sc.Audio, more, tc.want, tc.wantMore)
			}
			if got := streamNames(cfg)[av.Audio]; !slices.Equal(got, []string{tc.want}) {
				t.Errorf("missing_streams name %v for audio, want [%s]", got, tc.want)
			}
		})
	}
}

// TestFaceTapsEveryCamera: the live pipeline's face taps wrap every
// camera's visual features, measured apart from fusion.
func TestFaceTapsEveryCamera(t *testing.T) {
	cfg := testenv.Config(t, "fuse.features.video=true", "sync.policy=approximate")
	cam1 := cfg.Cameras[0]
	cam1.Name, cam1.Pose.YawDeg = "cam1", 90
	cfg.Cameras = append(cfg.Cameras, cam1)
	st, err := buildStages(cfg, av.NewDrops(), slog.New(slog.DiscardHandler), nil, true)
	if err != nil {
		t.Fatal(err)
	}
	defer st.backend.Close()
	defer st.fuse.Close()
	if len(st.apart) != 2 || st.apart[0] == nil {
		t.Skip("no visual features (nosensors build, or no OpenCV cascades)")
	}
	st.tapFaces(func(av.StreamID, int64, int, int, []foxglove.Face) {})
	for i, v := range st.apart {
		if _, ok := v.features.(*observedFaces); !ok {
			t.Errorf("camera %d: %T, not tapped", i, v.features)
		}
	}
}
