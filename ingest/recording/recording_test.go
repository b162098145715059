package recording

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/seed-4c364652/fusiond/ingest/av"
)

const t0 = int64(1_795_000_000) * 1e9

func testFrame(seq int, w, h int) *av.Frame {
	f := &av.Frame{Width: w, Height: h, Stride: 3 * w, Format: av.BGR24, Pix: make([]byte, 3*w*h)}
	rng := rand.New(rand.NewPCG(uint64(seq), 1))
	for i := range f.Pix {
		f.Pix[i] = byte(rng.Uint32())
	}
	f.Stream, f.Seq, f.CaptureNS, f.ArrivalNS = "cam0", uint64(seq), t0+int64(seq)*33e6, t0+int64(seq)*33e6+2e6
	return f
}

func testChunk(seq int) *av.AudioChunk {
	c := &av.AudioChunk{RateHz: 16000, Channels: 2, FirstFrame: int64(seq) * 320, Data: make([]float32, 640)}
	rng := rand.New(rand.NewPCG(uint64(seq), 2))
	for i := range c.Data {
		c.Data[i] = av.QuantizeS16(float32(rng.Float64()*2 - 1))
	}
	c.Stream, c.Seq, c.CaptureNS, c.ArrivalNS = "mic0", uint64(seq), t0+int64(seq)*20e6, t0+int64(seq+1)*20e6+1
	return c
}

// testAnnotations is a foxglove.ImageAnnotations of one box over f: a
// PointsAnnotation (field 2) of type LINE_LOOP with its four corners,
// stamped f's capture time.
func testAnnotations(f *av.Frame) []byte {
	var p []byte
	p = AppendTimestamp(p, 1, f.CaptureNS)
	p = protowire.AppendTag(p, 2, protowire.VarintType)
	p = protowire.AppendVarint(p, 2)
	for _, xy := range [][2]float64{{1, 2}, {9, 2}, {9, 10}, {1, 10}} {
		var pt []byte
		pt = protowire.AppendTag(pt, 1, protowire.Fixed64Type)
		pt = protowire.AppendFixed64(pt, math.Float64bits(xy[0]))
		pt = protowire.AppendTag(pt, 2, protowire.Fixed64Type)
		pt = protowire.AppendFixed64(pt, math.Float64bits(xy[1]))
		p = protowire.AppendTag(p, 3, protowire.BytesType)
		p = protowire.AppendBytes(p, pt)
	}
	return protowire.AppendBytes(protowire.AppendTag(nil, 2, protowire.BytesType), p)
}

var testStreams = []Stream{{"cam0", av.Video}, {"mic0", av.Audio}}

// record writes samples (interleaved as given) and returns the path.
func record(t *testing.T, opts Options, samples []av.Sample) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "rec.mcap")
	opts.Streams = testStreams
	opts.Metadata = Metadata("robot: r1\n", "test", testStreams)
	w, err := Create(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- w.Run() }()
	for _, s := range samples {
		for !w.Sample(s) {
			t.Fatal("dropped with an ample queue")
		}
		if f, ok := s.(*av.Frame); ok && !w.Annotations(f.Stream, f.CaptureNS, f.ArrivalNS, testAnnotations(f)) {
			t.Fatal("annotations dropped with an ample queue")
		}
	}
	d := &av.Decision{Stamps: av.Stamps{av.StagePublish: t0 + 5}}
	d.Seq, d.TimeNS = 1, t0
	if err := w.WriteDecision(d, []byte(`{"seq":1}`)); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	return path
}

func interleaved(n int) []av.Sample {
	var out []av.Sample
	for i := range n {
		out = append(out, testChunk(2*i), testFrame(i, 32, 24), testChunk(2*i+1))
	}
	return out
}

// readAll reads every sample back, and the error that ended the reading.
func readAll(t *testing.T, path string) ([]av.Sample, []string, error) {
	t.Helper()
	r, err := Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer r.Close()
	var samples []av.Sample
	var topics []string
	for {
		m, err := r.Next()
		if err == io.EOF {
			return samples, topics, nil
		}
		if err != nil {
			return samples, topics, err
		}
		topics = append(topics, m.Topic)
		s, err := r.Sample(m)
		if err != nil {
			return samples, topics, err
		}
		if s != nil {
			samples = append(samples, s)
		}
	}
}

func sameSample(a, b av.Sample) bool {
	if *a.SampleMeta() != *b.SampleMeta() {
		return false
	}
	switch x := a.(type) {
	case *av.Frame:
		y, ok := b.(*av.Frame)
		return ok && x.Width == y.Width && x.Height == y.Height && x.Format == y.Format && bytes.Equal(x.Pix, y.Pix)
	case *av.AudioChunk:
		y, ok := b.(*av.AudioChunk)
		if !ok || x.RateHz != y.RateHz || x.Channels != y.Channels || x.FirstFrame != y.FirstFrame || len(x.Data) != len(y.Data) {
			return false
		}
		for i := range x.Data {
			if x.Data[i] != y.Data[i] {
				return false
			}
		}
		return true
	}
	return false
}

func TestRoundTripIsExact(t *testing.T) {
	defer goleak.VerifyNone(t)
	for _, comp := range []string{"lz4", "zstd", "none"} {
		t.Run(comp, func(t *testing.T) {
			want := interleaved(20)
			path := record(t, Options{Compression: comp, ChunkBytes: 20000}, want)
			got, topics, err := readAll(t, path)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("read %d samples, wrote %d", len(got), len(want))
			}
			for i := range want {
				if !sameSample(got[i], want[i]) {
					t.Fatalf("sample %d differs: %+v vs %+v", i, got[i].SampleMeta(), want[i].SampleMeta())
				}
			}
			if topics[len(topics)-1] != TopicDecisions || topics[0] != TopicAudioIndex || topics[1] != "/mic0/audio" || topics[2] != "/cam0/image" {
				t.Fatalf("topics %v", topics[:3])
			}
			r, _ := Open(path)
			defer r.Close()
			if r.Metadata()["config"] != "robot: r1\n" || fmt.Sprint(r.Streams()) != "[{cam0 video} {mic0 audio}]" {
				t.Fatalf("metadata %v streams %v", r.Metadata(), r.Streams())
			}
		})
	}
}

func TestTruncatedReplaysUpToTheCut(t *testing.T) {
	defer goleak.VerifyNone(t)
	want := interleaved(30)
	path := record(t, Options{ChunkBytes: 8000}, want)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, frac := range []float64{0.2, 0.5, 0.77, 0.95} {
		cut := filepath.Join(t.TempDir(), "cut.mcap")
		n := int(float64(len(data)) * frac)
		os.WriteFile(cut, data[:n], 0o644)
		got, _, err := readAll(t, cut)
		if !errors.Is(err, ErrTruncated) || !strings.Contains(err.Error(), "byte offset") {
			t.Fatalf("cut at %d: err %v", n, err)
		}
		if len(got) == 0 || len(got) >= len(want) {
			t.Fatalf("cut at %.0f%%: %d of %d samples", 100*frac, len(got), len(want))
		}
		for i := range got {
			if !sameSample(got[i], want[i]) {
				t.Fatalf("cut at %d: sample %d differs", n, i)
			}
		}
	}
}

// TestTailCutIsAnError: a file cut 1 to 8 bytes short (inside the trailing
// magic, after the footer record) reads every message and then reports the
// cut with its offset; it is not a complete recording.
func TestTailCutIsAnError(t *testing.T) {
	want := interleaved(10)
	path := record(t, Options{}, want)
	data, _ := os.ReadFile(path)
	for cut := 1; cut <= 8; cut++ {
		p := filepath.Join(t.TempDir(), "cut.mcap")
		os.WriteFile(p, data[:len(data)-cut], 0o644)
		got, _, err := readAll(t, p)
		if !errors.Is(err, ErrTruncated) || !strings.Contains(err.Error(), fmt.Sprintf("byte offset %d", len(data)-8)) {
			t.Fatalf("cut %d bytes short: err %v", cut, err)
		}
		if len(got) != len(want) {
			t.Fatalf("cut %d bytes short: %d of %d samples", cut, len(got), len(want))
		}
	}
	if _, _, err := readAll(t, path); err != nil {
		t.Fatalf("the whole file: %v", err)
	}
}

func TestCorruptChunkNamesOffset(t *testing.T) {
	want := interleaved(30)
	path := record(t, Options{ChunkBytes: 8000, Compression: "none"}, want)
	data, _ := os.ReadFile(path)
	data[len(data)/2] ^= 0xff
	bad := filepath.Join(t.TempDir(), "bad.mcap")
	os.WriteFile(bad, data, 0o644)
	got, _, err := readAll(t, bad)
	if !errors.Is(err, ErrTruncated) || !strings.Contains(err.Error(), "byte offset") || len(got) == 0 {
		t.Fatalf("%d samples, err %v", len(got), err)
	}
}

func TestNotMCAP(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.mcap")
	os.WriteFile(p, []byte("RIFF....WAVEfmt "), 0o644)
	if _, err := Open(p); err == nil || !strings.Contains(err.Error(), "not an MCAP file") {
		t.Fatalf("got %v", err)
	}
	if _, err := Open(filepath.Join(t.TempDir(), "missing.mcap")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("got %v", err)
	}
}

// TestKilledRecorderLeavesReadableFile: chunks are flushed on a period, so a
// file whose recorder never finished still replays its complete chunks.
func TestKilledRecorderLeavesReadableFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "live.mcap")
	w, err := Create(path, Options{FlushInterval: 10 * time.Millisecond, Streams: testStreams})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- w.Run() }()
	want := interleaved(5)
	for _, s := range want {
		w.Sample(s)
	}
	deadline := time.Now().Add(10 * time.Second)
	var got []av.Sample
	for len(got) < len(want) {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d samples readable from the unfinished file", len(got), len(want))
		}
		time.Sleep(5 * time.Millisecond) // polling the file a live recorder writes
		got, _, err = readAll(t, path)
		if err != nil && !errors.Is(err, ErrTruncated) {
			t.Fatal(err)
		}
	}
	if !strings.Contains(err.Error(), "without its footer") {
		t.Fatalf("got %v", err)
	}
	w.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestFullQueueDropsAndCounts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "slow.mcap")
	w, err := Create(path, Options{QueueCapacity: 2, Streams: testStreams})
	if err != nil {
		t.Fatal(err)
	}
	// Nobody runs the writer: the disk "never keeps up".
	n := 0
	for i := range 10 {
		if w.Sample(testFrame(i, 8, 8)) {
			n++
		}
	}
	if n != 2 || w.Dropped() != 8 {
		t.Fatalf("queued %d, dropped %d", n, w.Dropped())
	}
	done := make(chan error, 1)
	go func() { done <- w.Run() }()
	w.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestBadOptions(t *testing.T) {
	if _, err := Create(filepath.Join(t.TempDir(), "x.mcap"), Options{Compression: "gzip"}); err == nil {
		t.Fatal("accepted gzip")
	}
	if _, err := Create("/nonexistent/dir/x.mcap", Options{}); err == nil {
		t.Fatal("created in a missing directory")
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(AppendRawImage(nil, testFrame(1, 4, 4)))
	f.Add(AppendRawAudio(nil, testChunk(1)))
	f.Fuzz(func(t *testing.T, b []byte) {
		if m, err := DecodeRawImage(b); err == nil && len(m.Data) < m.Step*m.Height {
			t.Fatal("accepted an image with too little data")
		}
		if m, err := DecodeRawAudio(b); err == nil && len(m.Data)%(2*m.Channels) != 0 {
			t.Fatal("accepted audio with partial frames")
		}
	})
}

func FuzzReader(f *testing.F) {
	dir := f.TempDir()
	p := filepath.Join(dir, "seed.mcap")
	w, _ := Create(p, Options{Streams: testStreams, ChunkBytes: 2000})
	done := make(chan error, 1)
	go func() { done <- w.Run() }()
	for _, s := range interleaved(3) {
		w.Sample(s)
	}
	w.Close()
	<-done
	seed, _ := os.ReadFile(p)
	f.Add(seed)
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "f.mcap")
		os.WriteFile(path, data, 0o644)
		r, err := Open(path)
		if err != nil {
			return
		}
		defer r.Close()
		for range 10000 {
			m, err := r.Next()
			if err != nil {
				return
			}
			if s, err := r.Sample(m); err == nil && s != nil {
				s.Release()
			}
		}
	})
}

func BenchmarkRecordFrames640x480(b *testing.B) {
	for _, comp := range []string{"none", "lz4", "zstd"} {
		b.Run(comp, func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "bench.mcap")
			w, err := Create(path, Options{Compression: comp, Streams: testStreams, QueueCapacity: 64})
			if err != nil {
				b.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- w.Run() }()
			f := testFrame(0, 640, 480)
			b.SetBytes(int64(len(f.Pix)))
			for i := 0; b.Loop(); i++ {
				f.Seq = uint64(i)
				for !w.Sample(f) { // measure the disk, not the drops
					time.Sleep(50 * time.Microsecond)
				}
			}
			w.Close()
			if err := <-done; err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(w.Dropped())/float64(b.N), "full-queue-retries/op")
		})
	}
}

// TestOpenNeedsOnlyTheHead: a file cut inside its first chunk still opens
// (its config and streams are known); reading then stops at the cut.
func TestOpenNeedsOnlyTheHead(t *testing.T) {
	path := record(t, Options{Compression: "none"}, interleaved(10))
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	head := r.Offset()
	r.Close()
	data, _ := os.ReadFile(path)
	cut := filepath.Join(t.TempDir(), "cut.mcap")
	os.WriteFile(cut, data[:head+100], 0o644)
	r, err = Open(cut)
	if err != nil {
		t.Fatalf("a file cut in its first chunk does not open: %v", err)
	}
	defer r.Close()
	if r.Metadata()["config"] == "" || len(r.Streams()) != 2 {
		t.Fatalf("metadata %v streams %v", r.Metadata(), r.Streams())
	}
	if _, err := r.Next(); !errors.Is(err, ErrTruncated) {
		t.Fatalf("got %v", err)
	}
}

// TestAnnotationsChannel: a video stream's annotations are recorded on
// its own channel (after the others, so theirs keep their ids), read back
// with their schema and the image's capture time, and are no sample: the
// reader's Sample skips them, and the stream list holds none.
func TestAnnotationsChannel(t *testing.T) {
	samples := interleaved(3)
	path := record(t, Options{ChunkBytes: 1000}, samples)
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got := fmt.Sprint(r.Streams()); got != "[{cam0 video} {mic0 audio}]" {
		t.Errorf("streams %s", got)
	}
	var times []int64
	for {
		m, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		s, err := r.Sample(m)
		if err != nil {
			t.Fatal(err)
		}
		if m.Topic != AnnotationsTopic("cam0") {
			if s != nil {
				s.Release()
			}
			continue
		}
		if s != nil || m.Schema != SchemaImageAnnotations || m.Stream != "" || m.Channel != 6 {
			t.Fatalf("annotations message %+v, sample %v", m, s)
		}
		f := testFrame(len(times), 32, 24)
		if m.PubNS != f.CaptureNS || m.LogNS != f.ArrivalNS || !bytes.Equal(m.Data, testAnnotations(f)) {
			t.Fatalf("annotations %d: pub %d log %d %x", len(times), m.PubNS, m.LogNS, m.Data)
		}
		times = append(times, m.PubNS)
	}
	if len(times) != 3 {
		t.Fatalf("%d annotations, want 3", len(times))
	}
	// Only video streams have the channel.
	w, err := Create(filepath.Join(t.TempDir(), "x.mcap"), Options{Streams: testStreams})
	if err != nil {
		t.Fatal(err)
	}
	if w.Annotations("mic0", t0, t0, nil) || w.Annotations("cam9", t0, t0, nil) {
		t.Error("annotations of a stream without the channel")
	}
	w.Close()
	if err := w.Run(); err != nil {
		t.Fatal(err)
	}
}
