//go:build !nosensors

package mic_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/seed-4c364652/fusiond/hardware"
	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/ingest/mic"
)

// useFakeCard points ALSA at the file-plugin card of testdata/alsa with
// the given raw files behind "default"/"filecap" and "filecap2".
func useFakeCard(t testing.TB, in, in2 string) {
	t.Helper()
	conf, err := filepath.Abs("../../testdata/alsa/asound.conf")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("ALSA_CONFIG_PATH", conf)
	t.Setenv("FUSIOND_ALSA_IN", in)
	t.Setenv("FUSIOND_ALSA_IN2", in2)
}

// rawInt16 writes n frames of distinct, non-trivial int16 samples.
func rawInt16(t testing.TB, frames, channels int) (string, []byte) {
	t.Helper()
	b := make([]byte, 2*frames*channels)
	for i := 0; i < frames*channels; i++ {
		v := int16(int32(i*7919+int(math.Sin(float64(i)/9)*12000)) % 32768)
		binary.LittleEndian.PutUint16(b[2*i:], uint16(v))
	}
	p := filepath.Join(t.TempDir(), "in.raw")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p, b
}

// capture runs m until it stops and returns what it sent, re-encoded as
// little-endian int16 or float32 bytes, and the chunks' metadata.
func capture(t *testing.T, m *mic.Mic, format mic.SampleFormat) ([]byte, []av.AudioChunk) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	q := av.NewQueue[av.Sample]("test", 1<<16, av.Block, nil)
	if err := m.Run(ctx, q, 0); err != nil {
		t.Fatal(err)
	}
	q.Close()
	var got []byte
	var metas []av.AudioChunk
	for s := range q.C() {
		c := s.(*av.AudioChunk)
		for _, v := range c.Data {
			if format == mic.Float32 {
				got = binary.LittleEndian.AppendUint32(got, math.Float32bits(v))
			} else {
				got = binary.LittleEndian.AppendUint16(got, uint16(int16(math.Round(float64(v)*(1<<15)))))
			}
		}
		meta := *c
		meta.Data = nil
		metas = append(metas, meta)
		c.Release()
	}
	return got, metas
}

func TestCaptureByteExact(t *testing.T) {
	defer goleak.VerifyNone(t)
	for _, tc := range []struct {
		name     string
		device   string
		channels int
		rate     int
		format   mic.SampleFormat
	}{
		{"mono default", "default", 1, 16000, mic.Int16},
		{"mono by name", "filecap", 1, 48000, mic.Int16},
		{"stereo", "filecap2", 2, 16000, mic.Int16},
		{"stereo float32", "filecap2", 2, 44100, mic.Float32},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const frames = 16000 + 77 // not a whole number of chunks
			var path string
			var want []byte
			if tc.format == mic.Float32 {
				want = make([]byte, 4*frames*tc.channels)
				for i := 0; i < frames*tc.channels; i++ {
					binary.LittleEndian.PutUint32(want[4*i:], math.Float32bits(float32(math.Sin(float64(i)/5))*0.5))
				}
				path = filepath.Join(t.TempDir(), "in.f32")
				if err := os.WriteFile(path, want, 0o644); err != nil {
					t.Fatal(err)
				}
			} else {
				path, want = rawInt16(t, frames, tc.channels)
			}
			useFakeCard(t, path, path)
			m, err := mic.New(mic.Config{Stream: "mic0", Device: tc.device, RateHz: tc.rate, Channels: tc.channels,
				ChunkFrames: 160, Format: tc.format, Frames: frames}, av.NewRealClock(), nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			got, metas := capture(t, m, tc.format)
			if len(got) != len(want) {
				t.Fatalf("captured %d bytes, want %d", len(got), len(want))
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("byte %d: got %#x, want %#x", i, got[i], want[i])
				}
			}
			// Capture times follow from sample counts, not from reads.
			origin := metas[0].CaptureNS
			for i, c := range metas {
				if c.Seq != uint64(i) || c.RateHz != tc.rate || c.Channels != tc.channels {
					t.Fatalf("chunk %d: seq %d rate %d channels %d", i, c.Seq, c.RateHz, c.Channels)
				}
				if want := origin + av.FramesToNS(c.FirstFrame, tc.rate); c.CaptureNS != want {
					t.Fatalf("chunk %d: capture %d, want %d", i, c.CaptureNS, want)
				}
				if i > 0 && c.FirstFrame != metas[i-1].FirstFrame+160 {
					t.Fatalf("chunk %d: first frame %d after %d", i, c.FirstFrame, metas[i-1].FirstFrame)
				}
			}
			if d, ok := m.Device(); !ok || d.HostAPI != "ALSA" {
				t.Errorf("device %+v, want an ALSA device", d)
			}
		})
	}
}

func TestUnknownDeviceListsAvailable(t *testing.T) {
	defer goleak.VerifyNone(t)
	p, _ := rawInt16(t, 100, 1)
	useFakeCard(t, p, p)
	m, err := mic.New(mic.Config{Stream: "mic0", Device: "no-such-mic", RateHz: 16000, Channels: 1, ChunkFrames: 160}, av.NewRealClock(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = m.Run(context.Background(), av.NewQueue[av.Sample]("q", 4, av.DropOldest, func(s av.Sample) { s.Release() }), 0)
	if !errors.Is(err, hardware.ErrUnknownDevice) {
		t.Fatalf("err = %v, want ErrUnknownDevice", err)
	}
	for _, name := range []string{`"no-such-mic"`, `"filecap"`, `"default"`} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not mention %s", err, name)
		}
	}
}

func TestDevicesListsFileDevice(t *testing.T) {
	p, _ := rawInt16(t, 100, 1)
	useFakeCard(t, p, p)
	devs, err := hardware.AudioInputs()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	haveDefault := false
	for _, d := range devs {
		names = append(names, d.Name)
		haveDefault = haveDefault || d.Default
	}
	joined := strings.Join(names, ",")
	if !strings.Contains(joined, "filecap") || !haveDefault {
		t.Fatalf("devices %v: want filecap and a default input", devs)
	}
}

// TestPaced checks that a paced microphone on a file-backed device (which
// reads faster than real time) delivers no chunk before its capture ends.
func TestPaced(t *testing.T) {
	defer goleak.VerifyNone(t)
	p, _ := rawInt16(t, 3200, 1)
	useFakeCard(t, p, p)
	clock := av.NewRealClock()
	m, err := mic.New(mic.Config{Stream: "mic0", RateHz: 16000, Channels: 1, ChunkFrames: 320, Pace: true, Frames: 3200}, clock, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	q := av.NewQueue[av.Sample]("q", 64, av.Block, nil)
	if err := m.Run(context.Background(), q, 0); err != nil {
		t.Fatal(err)
	}
	q.Close()
	n := 0
	for s := range q.C() {
		c := s.(*av.AudioChunk)
		if c.ArrivalNS < c.EndNS() {
			t.Errorf("chunk %d arrived at %d, before its end %d", c.Seq, c.ArrivalNS, c.EndNS())
		}
		n++
		c.Release()
	}
	if n != 10 {
		t.Errorf("%d chunks, want 10", n)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, cfg := range []mic.Config{
		{Stream: "", RateHz: 16000, Channels: 1, ChunkFrames: 160},
		{Stream: "m", RateHz: 10, Channels: 1, ChunkFrames: 160},
		{Stream: "m", RateHz: 16000, Channels: 0, ChunkFrames: 160},
		{Stream: "m", RateHz: 16000, Channels: 1, ChunkFrames: 0},
		{Stream: "m", RateHz: 16000, Channels: 1, ChunkFrames: 160, Format: "int8"},
	} {
		if _, err := mic.New(cfg, av.NewRealClock(), nil, nil); err == nil {
			t.Errorf("New(%+v) succeeded", cfg)
		}
	}
}

// TestCaptureRealSpeech captures a LibriVox recording (pocketsphinx-testdata,
// converted to raw PCM with sox) from the fake sound card, byte-exactly.
func TestCaptureRealSpeech(t *testing.T) {
	defer goleak.VerifyNone(t)
	wav := "../../.cache/media/pocketsphinx-testdata/usr/share/pocketsphinx/test/data/librivox/sense_and_sensibility_01_austen_64kb-0880.wav"
	if _, err := os.Stat(wav); err != nil {
		t.Skipf("%s: run scripts/fetch-media.sh pocketsphinx-testdata (make test does)", wav)
	}
	raw := filepath.Join(t.TempDir(), "speech.raw")
	if out, err := exec.Command("sox", wav, "-t", "raw", "-r", "16000", "-e", "signed", "-b", "16", "-c", "1", raw).CombinedOutput(); err != nil {
		t.Fatalf("sox: %v: %s", err, out)
	}
	want, err := os.ReadFile(raw)
	if err != nil {
		t.Fatal(err)
	}
	useFakeCard(t, raw, raw)
	m, err := mic.New(mic.Config{Stream: "mic0", RateHz: 16000, Channels: 1, ChunkFrames: 320, Frames: int64(len(want) / 2)}, av.NewRealClock(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := capture(t, m, mic.Int16)
	if !bytes.Equal(got, want) {
		t.Fatalf("captured %d bytes differing from the %d of the recording", len(got), len(want))
	}
}

// TestReopenKeepsTimeLine: a microphone reopened after a gap (as the retry
// supervisor does after a failure) continues its frame count past the gap,
// so capture times stay on the first opening's time line.
func TestReopenKeepsTimeLine(t *testing.T) {
	defer goleak.VerifyNone(t)
	p, _ := rawInt16(t, 16000, 1)
	useFakeCard(t, p, p)
	clock := av.NewVirtualClock(1e12)
	m, err := mic.New(mic.Config{Stream: "mic0", RateHz: 16000, Channels: 1, ChunkFrames: 160, LatencyNS: 10e6, Frames: 1600}, clock, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, first := capture(t, m, mic.Int16)
	clock.Advance(int64(2 * time.Second)) // the device was gone for 2 s
	_, second := capture(t, m, mic.Int16)
	origin := first[0].CaptureNS
	// The first opening's first frame: arrival minus one chunk and the
	// latency; the reopening's first frame is where the clock says.
	if want := int64(1e12) - 10e6 - 10e6; origin != want {
		t.Fatalf("first capture %d, want %d", origin, want)
	}
	c := second[0]
	if want := int64(1e12) + 2e9 - 20e6; c.CaptureNS != want || c.FirstFrame != av.NSToFrames(want-origin, 16000) {
		t.Fatalf("after the gap: frame %d captured at %d, want frame %d at %d", c.FirstFrame, c.CaptureNS, av.NSToFrames(want-origin, 16000), want)
	}
	if c.Seq != uint64(len(first)) {
		t.Fatalf("seq %d after %d chunks", c.Seq, len(first))
	}
}
