package foxglove

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/ingest/recording"
	"github.com/seed-4c364652/fusiond/internal/testenv"
	"github.com/seed-4c364652/fusiond/sinks/decision"
)

const baseNS = int64(1795755638_000_000_000)

// testFrame is a 640x480 BGR gradient captured at ns.
func testFrame(stream av.StreamID, ns int64) *av.Frame {
	f := &av.Frame{Meta: av.Meta{Stream: stream, CaptureNS: ns}, Width: 640, Height: 480, Stride: 640 * 3, Format: av.BGR24}
	f.Pix = make([]byte, f.Stride*f.Height)
	for i := range f.Pix {
		f.Pix[i] = byte(i/3 + int(ns/1e8))
	}
	return f
}

func testDecision(kind string, seq uint64, ns int64) *decision.Decision {
	return &decision.Decision{Schema: decision.Schema, Robot: "demo", Kind: kind, Seq: seq, TimeNS: ns,
		Confidence: 0.9, Logit: 2.2, Contributions: map[string]float64{"prior": 0}, Missing: []string{},
		State:     decision.StateActive,
		Evidence:  map[string]float64{"active": 1, "bearing_deg": -20, "bearing_std_deg": 3, "motion_x": 0.25, "motion_y": 0.5},
		LatencyNS: map[string]int64{"capture_to_publish": 1}}
}

// feeder offers v a camera (10 fps), a microphone (100 ms chunks),
// decisions at the frames' capture times and a status, paced at 50 steps
// per second of wall time, until ctx ends; it records the decisions' times.
type feeder struct {
	mu    sync.Mutex
	times []int64
}

func (fd *feeder) run(ctx context.Context, v *View) {
	kinds := []string{"activity", "presence", "speech", "speaker"}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for i := int64(0); ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		ns := baseNS + i*100_000_000
		v.Frame(testFrame("cam0", ns))
		c := &av.AudioChunk{Meta: av.Meta{Stream: "mic0", CaptureNS: ns}, RateHz: 16000, Channels: 1, Data: make([]float32, 1600)}
		v.Audio(c)
		fd.mu.Lock()
		fd.times = append(fd.times, ns)
		fd.mu.Unlock()
		v.Decision(testDecision(kinds[i%4], uint64(i+1), ns))
		v.Status(&decision.Status{Schema: decision.StatusSchema, Robot: "demo", TimeNS: ns, Backend: "cpu"})
	}
}

func (fd *feeder) has(ns int64) bool {
	fd.mu.Lock()
	defer fd.mu.Unlock()
	return slices.Contains(fd.times, ns)
}

// startView serves a view fed by a feeder until the test ends.
func startView(t *testing.T, opts Options) (string, *View, *feeder) {
	t.Helper()
	srv := NewServer(opts)
	v := NewView(srv, ViewOptions{ImageWidth: 320, ImageFPS: 10, HFOVDeg: map[av.StreamID]float64{"cam0": 60}})
	v.AddCamera("cam0")
	v.AddMicrophone("mic0")
	url := serve(t, srv)
	ctx, cancel := context.WithCancel(context.Background())
	fd := &feeder{}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); v.Run(ctx) }()
	go func() { defer wg.Done(); fd.run(ctx, v) }()
	t.Cleanup(func() { cancel(); wg.Wait() })
	return url, v, fd
}

// fields returns a protobuf message's length-delimited fields and varints
// by number (the first of each).
func fields(t *testing.T, b []byte) (bytesOf map[protowire.Number][]byte, varints map[protowire.Number]uint64) {
	t.Helper()
	bytesOf, varints = map[protowire.Number][]byte{}, map[protowire.Number]uint64{}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			t.Fatal("bad protobuf tag")
		}
		b = b[n:]
		switch typ {
		case protowire.BytesType:
			v, m := protowire.ConsumeBytes(b)
			if m < 0 {
				t.Fatal("bad protobuf bytes")
			}
			if _, ok := bytesOf[num]; !ok {
				bytesOf[num] = v
			}
			n = m
		case protowire.VarintType:
			v, m := protowire.ConsumeVarint(b)
			if _, ok := varints[num]; !ok {
				varints[num] = v
			}
			n = m
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			t.Fatal("bad protobuf field")
		}
		b = b[n:]
	}
	return bytesOf, varints
}

// timestampOf decodes field 1 (a google.protobuf.Timestamp) of a Foxglove
// message, or of its first shape for ImageAnnotations.
func timestampOf(t *testing.T, b []byte, nested bool) int64 {
	t.Helper()
	msg, _ := fields(t, b)
	if nested {
		for _, num := range []protowire.Number{1, 2, 3} {
			if shape, ok := msg[num]; ok {
				return timestampOf(t, shape, false)
			}
		}
		t.Fatal("no shapes")
	}
	_, ts := fields(t, msg[1])
	return int64(ts[1])*1e9 + int64(ts[2])
}

// TestView: a Go client subscribed to every channel gets images (JPEG,
// 320 wide), audio, annotations and decisions, each stamped with the
// capture time it carries, the annotations at the decisions' times; no
// JPEG is encoded before anyone subscribes.
func TestView(t *testing.T) {
	url, v, fd := startView(t, Options{Logger: quiet})
	time.Sleep(100 * time.Millisecond) // frames with nobody connected
	if st := v.Stats(); st.Images != 0 {
		t.Fatalf("encoded with nobody subscribed: %+v", st)
	}
	c := dial(t, url, Subprotocols[0])
	c.nextJSON(nil)
	var adv struct{ Channels []Channel }
	if op := c.nextJSON(&adv); op != "advertise" {
		t.Fatal(op)
	}
	topics := map[uint32]Channel{}
	var subs []string
	for _, ch := range adv.Channels {
		topics[ch.ID] = ch
		subs = append(subs, `{"id":`+strconv.Itoa(int(ch.ID))+`,"channelId":`+strconv.Itoa(int(ch.ID))+`}`)
	}
	want := map[string]string{
		"/cam0/image": recording.SchemaCompressedImage, "/cam0/annotations": recording.SchemaImageAnnotations,
		"/mic0/audio": recording.SchemaRawAudio, TopicDecisions: decision.Schema, TopicStatus: decision.StatusSchema,
	}
	if len(topics) != len(want) {
		t.Fatalf("channels %+v", adv.Channels)
	}
	for _, ch := range topics {
		if want[ch.Topic] != ch.SchemaName || ch.Schema == "" {
			t.Errorf("%s: schema %s", ch.Topic, ch.SchemaName)
		}
	}
	c.send(`{"op":"subscribe","subscriptions":[` + join(subs) + `]}`)
	got := map[string]int{}
	for len(got) < len(want) || slices.Min(mapValues(got)) < 3 {
		sub, ts, p := c.data()
		ch := topics[sub]
		got[ch.Topic]++
		switch ch.SchemaName {
		case recording.SchemaCompressedImage, recording.SchemaRawAudio:
			if stamp := timestampOf(t, p, false); stamp != ts {
				t.Fatalf("%s: frame ts %d, message %d", ch.Topic, ts, stamp)
			}
		case recording.SchemaImageAnnotations:
			if stamp := timestampOf(t, p, true); stamp != ts || !fd.has(ts) {
				t.Fatalf("%s: frame ts %d, message %d, a decision's: %v", ch.Topic, ts, stamp, fd.has(ts))
			}
		case decision.Schema:
			d, err := decision.Decode(p)
			if err != nil || d.TimeNS != ts {
				t.Fatalf("%v %+v ts %d", err, d, ts)
			}
		case decision.StatusSchema:
			var st decision.Status
			if err := json.Unmarshal(p, &st); err != nil || st.TimeNS != ts {
				t.Fatalf("%v %s", err, p)
			}
		}
		if ch.SchemaName == recording.SchemaCompressedImage {
			img, err := decodeCompressedImage(p)
			if err != nil || img.format != "jpeg" || img.frameID != "cam0" {
				t.Fatalf("%v %+v", err, img)
			}
			if w, h := jpegSize(t, img.data); w != 320 || h != 240 {
				t.Fatalf("jpeg %dx%d", w, h)
			}
		}
	}
	if st := v.Stats(); st.Images == 0 || st.Dropped != 0 {
		t.Fatalf("%+v", st)
	}
}

func join(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += ","
		}
		out += x
	}
	return out
}

func mapValues(m map[string]int) []int {
	var out []int
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

type compressedImage struct {
	format, frameID string
	data            []byte
}

func decodeCompressedImage(b []byte) (compressedImage, error) {
	var img compressedImage
	for len(b) > 0 {
		num, _, n := protowire.ConsumeTag(b)
		b = b[n:]
		v, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return img, protowire.ParseError(n)
		}
		b = b[n:]
		switch num {
		case 2:
			img.data = v
		case 3:
			img.format = string(v)
		case 4:
			img.frameID = string(v)
		}
	}
	return img, nil
}

// TestFoxgloveClient: Foxglove's own client (@foxglove/ws-protocol over
// ws, scripts/foxglove-check) sees serverInfo and the advertised image,
// audio, annotation, decision and status channels with Foxglove's
// schemas, subscribes, and receives messages on each, every one stamped
// with the capture time it carries; the annotations at decisions' times.
func TestFoxgloveClient(t *testing.T) {
	url, _, fd := startView(t, Options{Logger: quiet})
	sum := runFoxgloveCheck(t, url, 3)
	for _, topic := range []string{"/cam0/image", "/cam0/annotations", "/mic0/audio", TopicDecisions, TopicStatus} {
		tp, ok := sum.Topics[topic]
		if !ok || tp.Count < 3 {
			t.Errorf("%s: %+v", topic, tp)
		}
	}
	for _, ts := range append(sum.Topics["/cam0/annotations"].Timestamps, sum.Topics[TopicDecisions].Timestamps...) {
		ns, _ := strconv.ParseInt(ts, 10, 64)
		if !fd.has(ns) {
			t.Errorf("timestamp %d is no decision's", ns)
		}
	}
	if sum.Topics["/cam0/annotations"].Shapes == 0 {
		t.Error("annotations without shapes")
	}
	if a := sum.Topics["/mic0/audio"]; a.Format != "pcm-s16" || a.Rate != 16000 {
		t.Errorf("audio %+v", a)
	}
	if sum.Channels["/cam0/image"].SchemaName != recording.SchemaCompressedImage || sum.Subprotocol != Subprotocols[0] || sum.ServerInfo.Name != "fusiond" {
		t.Errorf("%+v", sum)
	}
}

// CheckSummary is what scripts/foxglove-check prints.
type CheckSummary struct {
	ServerInfo struct {
		Name         string
		Capabilities []string
	} `json:"serverInfo"`
	Subprotocol string
	Channels    map[string]struct {
		SchemaName, Encoding, SchemaEncoding string
	}
	Topics map[string]struct {
		Count      int
		Timestamps []string
		Format     string
		Rate       int
		Shapes     int
		Bytes      int
	}
	Time     int
	Statuses []statusMsg
}

// runFoxgloveCheck runs scripts/foxglove-check against url until every
// channel has min messages. `make test` installs its Node modules and sets
// FUSIOND_REQUIRE_NODE=1, so there a missing node fails instead of
// skipping.
func runFoxgloveCheck(t *testing.T, url string, min int) *CheckSummary {
	t.Helper()
	var sum CheckSummary
	testenv.FoxgloveCheck(t, filepath.Join("..", "..", "scripts", "foxglove-check"), url, min, &sum)
	return &sum
}

func TestCollectors(t *testing.T) {
	v := NewView(NewServer(Options{Logger: quiet}), ViewOptions{})
	reg := prometheus.NewRegistry()
	reg.MustRegister(v.Collectors()...)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, mf := range mfs {
		names = append(names, mf.GetName())
	}
	want := []string{"fusiond_foxglove_bad_messages_total", "fusiond_foxglove_clients", "fusiond_foxglove_cut_off_total",
		"fusiond_foxglove_dropped_total", "fusiond_foxglove_encode_errors_total", "fusiond_foxglove_images_total", "fusiond_foxglove_skipped_images_total"}
	if !slices.Equal(names, want) {
		t.Fatalf("%v", names)
	}
}

// TestImageRate: a watched camera's frames go at most ImageFPS a second
// by capture time, and a capture time that goes back (a restarted camera,
// a looping replay) does not stop them.
func TestImageRate(t *testing.T) {
	srv := NewServer(Options{Logger: quiet})
	v := NewView(srv, ViewOptions{ImageFPS: 10})
	v.AddCamera("cam0")
	c := dial(t, serve(t, srv), Subprotocols[0])
	c.nextJSON(nil)
	c.nextJSON(nil)
	c.send(`{"op":"subscribe","subscriptions":[{"id":1,"channelId":3}]}`)
	waitFor(t, "subscription", func() bool { return srv.Subscribed(3) })
	var sent []int64
	for _, ms := range []int64{0, 30, 60, 99, 100, 150, 230, 5000, 0, 50, 100} { // capture times, ms
		before := len(v.jobs)
		v.Frame(testFrame("cam0", baseNS+ms*1e6))
		if len(v.jobs) > before {
			j := <-v.jobs
			sent = append(sent, (j.captureNS-baseNS)/1e6)
		}
	}
	if want := []int64{0, 100, 230, 5000, 0, 100}; !slices.Equal(sent, want) {
		t.Fatalf("sent frames at %v ms, want %v", sent, want)
	}
}

// TestNoEncodingForFullQueues: once the only viewer of a camera has a full
// queue (it does not read), its frames are not encoded, only counted.
func TestNoEncodingForFullQueues(t *testing.T) {
	srv := NewServer(Options{Logger: quiet, QueueLen: 4, WriteTimeout: time.Minute})
	v := NewView(srv, ViewOptions{ImageFPS: 10})
	v.AddCamera("cam0")
	c := dial(t, serve(t, srv), Subprotocols[0])
	c.send(`{"op":"subscribe","subscriptions":[{"id":1,"channelId":3},{"id":2,"channelId":1}]}`) // never reads
	waitFor(t, "subscription", func() bool { return srv.Subscribed(3) && srv.Subscribed(1) })
	if !srv.Ready(3) {
		t.Fatal("not ready with an empty queue")
	}
	big := make([]byte, 256<<10)
	waitFor(t, "a full queue", func() bool {
		srv.Publish(1, 0, big) // the decisions channel, to fill the socket and the queue
		return !srv.Ready(3)
	})
	v.Frame(testFrame("cam0", baseNS))
	if len(v.jobs) != 0 || v.Stats().SkippedImages != 1 {
		t.Fatalf("%d jobs, %+v", len(v.jobs), v.Stats())
	}
}

// TestFacesGoWithImages: a frame's faces send the camera's annotations
// stamped with the frame's time when its image was sent, and nothing for
// a frame whose image was not (the rate limit); a decision's annotations
// draw the faces kept.
func TestFacesGoWithImages(t *testing.T) {
	srv := NewServer(Options{Logger: quiet})
	v := NewView(srv, ViewOptions{ImageFPS: 10})
	v.AddCamera("cam0")
	c := dial(t, serve(t, srv), Subprotocols[0])
	c.nextJSON(nil)
	c.nextJSON(nil)
	c.send(`{"op":"subscribe","subscriptions":[{"id":1,"channelId":3},{"id":2,"channelId":4}]}`)
	waitFor(t, "subscription", func() bool { return srv.Subscribed(3) && srv.Subscribed(4) })
	faces := []Face{{ID: 7, Box: image.Rect(100, 80, 200, 180)}}
	for _, ms := range []int64{0, 50} { // the image of 50 ms is not sent
		v.Frame(testFrame("cam0", baseNS+ms*1e6))
		if ms == 0 && len(v.jobs) != 1 {
			t.Fatal("the first image was not sent")
		}
		for len(v.jobs) > 0 {
			<-v.jobs
		}
		v.Faces("cam0", baseNS+ms*1e6, 640, 480, faces)
	}
	v.Decision(testDecision("presence", 1, baseNS+60e6))
	for _, want := range []int64{baseNS, baseNS + 60e6} {
		sub, ts, payload := c.data()
		if sub != 2 || ts != want {
			t.Fatalf("subscription %d at %d, want 2 at %d", sub, ts, want)
		}
		if !bytes.Contains(payload, []byte("face 7")) {
			t.Fatalf("annotations at %d without the face: %q", ts, payload)
		}
	}
}
