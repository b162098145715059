package foxglove

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/ingest/recording"
	"github.com/seed-4c364652/fusiond/sinks/decision"
)

// Topics of the view's own channels; a stream's channels are
// /<stream>/image (foxglove.CompressedImage), /<stream>/annotations
// (foxglove.ImageAnnotations) and /<stream>/audio (foxglove.RawAudio).
const (
	TopicDecisions = recording.TopicDecisions
	TopicStatus    = recording.TopicStatus
)

// ViewOptions configure what a View sends.
type ViewOptions struct {
	// ImageWidth is the width of the images sent, in pixels; the height
	// keeps the aspect. 0 sends them at the captured size.
	ImageWidth int
	// ImageFPS is the most images per second sent per camera [10]; frames
	// in between are skipped (by capture time).
	ImageFPS float64
	// JPEGQuality is the JPEG quality, 1 to 100 [80].
	JPEGQuality int
	// HFOVDeg is each camera's horizontal field of view, for drawing
	// bearings [60 for cameras not listed].
	HFOVDeg map[av.StreamID]float64
}

// Stats of a View beside its server's.
type ViewStats struct {
	Stats
	// Images counts the JPEG images sent; SkippedImages the frames due
	// (within the rate limit) that were not encoded: the encoder was still
	// busy, or every viewer of the camera had a full queue.
	Images, SkippedImages uint64
	// EncodeErrors counts frames that did not encode.
	EncodeErrors uint64
}

// camera is one video stream's channels and encoder state.
type camera struct {
	stream        av.StreamID
	image, annots uint32
	nextNS        int64 // capture time of the next frame to send, under View.mu
	// sentNS are the capture times of the latest images handed to the
	// encoder (enough for a replay whose reader runs ahead of fusion), for
	// the faces' annotations to go out with; under View.mu.
	sentNS        [32]int64
	sentN         int
	width, height atomic.Int64
	free          chan []byte // pixel buffers for jobs
}

// job is a frame copied out for the encoder.
type job struct {
	cam                   *camera
	captureNS             int64
	width, height, stride int
	format                av.PixelFormat
	pix                   []byte
}

// View is fusiond's live view on a Server: a compressed image and an
// annotations channel per camera, a raw audio channel per microphone, and
// the decisions and status. The daemon's taps call Frame, Audio, Decision
// and Status; each costs a map lookup and an atomic load while nobody is
// subscribed to its channel. JPEG encoding runs in Run, off the caller's
// goroutine, one frame at a time: a frame that arrives while the encoder
// is busy, or while every viewer of its camera has a full queue (a viewer
// that does not keep up), is skipped and counted.
type View struct {
	srv  *Server
	opts ViewOptions

	mu      sync.Mutex
	cams    map[av.StreamID]*camera
	camList []*camera // cams in the order added
	mics    map[av.StreamID]uint32
	ann     *Annotator

	decisions, status uint32
	jobs              chan job
	images, skipped   atomic.Uint64
	encodeErrors      atomic.Uint64
}

// NewView advertises the decision and status channels on srv and returns a
// view; cameras and microphones are added by AddCamera, AddMicrophone, or
// their first sample.
func NewView(srv *Server, opts ViewOptions) *View {
	if opts.ImageFPS <= 0 {
		opts.ImageFPS = 10
	}
	if opts.JPEGQuality <= 0 || opts.JPEGQuality > 100 {
		opts.JPEGQuality = 80
	}
	v := &View{
		srv: srv, opts: opts,
		cams: make(map[av.StreamID]*camera), mics: make(map[av.StreamID]uint32),
		ann:  NewAnnotator(opts.HFOVDeg),
		jobs: make(chan job, 1),
	}
	v.decisions = srv.Advertise(jsonChannel(TopicDecisions, decision.Schema, decision.JSONSchema))
	v.status = srv.Advertise(jsonChannel(TopicStatus, decision.StatusSchema, decision.StatusJSONSchema))
	return v
}

func jsonChannel(topic, name, schema string) Channel {
	return Channel{Topic: topic, Encoding: "json", SchemaName: name, Schema: schema, SchemaEncoding: "jsonschema"}
}

func protoChannel(topic, name string) Channel {
	return Channel{Topic: topic, Encoding: "protobuf", SchemaName: name,
		Schema: base64.StdEncoding.EncodeToString(recording.ProtoSchema(name)), SchemaEncoding: "protobuf"}
}

// AddCamera advertises a camera's image and annotation channels.
func (v *View) AddCamera(stream av.StreamID) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.camera(stream)
}

// camera returns stream's camera, adding it; under v.mu.
func (v *View) camera(stream av.StreamID) *camera {
	if c := v.cams[stream]; c != nil {
		return c
	}
	c := &camera{stream: stream, free: make(chan []byte, 2),
		image:  v.srv.Advertise(protoChannel("/"+string(stream)+"/image", recording.SchemaCompressedImage)),
		annots: v.srv.Advertise(protoChannel(recording.AnnotationsTopic(stream), recording.SchemaImageAnnotations)),
	}
	v.cams[stream] = c
	v.camList = append(v.camList, c)
	return c
}

// AddMicrophone advertises a microphone's audio channel.
func (v *View) AddMicrophone(stream av.StreamID) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.mic(stream)
}

func (v *View) mic(stream av.StreamID) uint32 {
	if id, ok := v.mics[stream]; ok {
		return id
	}
	id := v.srv.Advertise(protoChannel(recording.AudioTopic(stream), recording.SchemaRawAudio))
	v.mics[stream] = id
	return id
}

// Frame offers a camera frame. It does not keep f: a frame to send is
// copied for the encoder.
func (v *View) Frame(f *av.Frame) {
	v.mu.Lock()
	c := v.camera(f.Stream)
	w, h := f.Width, f.Height
	if v.opts.ImageWidth > 0 && v.opts.ImageWidth < w {
		w, h = v.opts.ImageWidth, max(1, f.Height*v.opts.ImageWidth/f.Width)
	}
	c.width.Store(int64(w))
	c.height.Store(int64(h))
	period := int64(1e9 / v.opts.ImageFPS)
	// Skip frames within the period; a capture time that went back (a
	// restarted camera, a looping replay) starts the count again.
	if !v.srv.Subscribed(c.image) || f.CaptureNS < c.nextNS && f.CaptureNS >= c.nextNS-2*period {
		v.mu.Unlock()
		return
	}
	c.nextNS = f.CaptureNS + period
	v.mu.Unlock()
	if !v.srv.Ready(c.image) { // its viewers' queues are full: no encoding for them
		v.skipped.Add(1)
		return
	}

	n := f.Stride * f.Height
	var pix []byte
	select {
	case pix = <-c.free:
	default:
	}
	if cap(pix) < n {
		pix = make([]byte, n)
	}
	pix = pix[:n]
	copy(pix, f.Pix[:n])
	select {
	case v.jobs <- job{cam: c, captureNS: f.CaptureNS, width: f.Width, height: f.Height, stride: f.Stride, format: f.Format, pix: pix}:
		v.mu.Lock()
		c.sentNS[c.sentN%len(c.sentNS)] = f.CaptureNS
		c.sentN++
		v.mu.Unlock()
	default:
		v.skipped.Add(1)
		c.recycle(pix)
	}
}

func (c *camera) recycle(pix []byte) {
	select {
	case c.free <- pix:
	default:
	}
}

// Run encodes and sends the frames Frame hands it until ctx ends.
func (v *View) Run(ctx context.Context) error {
	var out []byte
	for {
		select {
		case <-ctx.Done():
			return nil
		case j := <-v.jobs:
			w := int(j.cam.width.Load())
			jpg, err := encodeJPEG(out[:0], &j, w, v.opts.JPEGQuality)
			j.cam.recycle(j.pix)
			if err != nil {
				v.encodeErrors.Add(1)
				continue
			}
			out = jpg
			v.images.Add(1)
			v.srv.Publish(j.cam.image, j.captureNS, appendCompressedImage(nil, j.captureNS, string(j.cam.stream), "jpeg", jpg))
		}
	}
}

// Audio offers a microphone chunk.
func (v *View) Audio(c *av.AudioChunk) {
	v.mu.Lock()
	id := v.mic(c.Stream)
	v.mu.Unlock()
	if v.srv.Subscribed(id) {
		v.srv.Publish(id, c.CaptureNS, recording.AppendRawAudio(nil, c))
	}
}

// Decision offers a decision: on the decisions channel, and as the
// annotations of every camera, both stamped with the decision's capture
// time.
func (v *View) Decision(d *decision.Decision) {
	if v.srv.Subscribed(v.decisions) {
		if b, err := decision.Append(nil, d); err == nil {
			v.srv.Publish(v.decisions, d.TimeNS, b)
		}
	}
	v.mu.Lock()
	v.ann.Decision(d)
	var cams []*camera
	var msgs [][]byte
	for _, c := range v.camList {
		if v.srv.Subscribed(c.annots) {
			cams = append(cams, c)
			msgs = append(msgs, v.annotations(c, d.TimeNS))
		}
	}
	v.mu.Unlock()
	for i, c := range cams {
		v.srv.Publish(c.annots, d.TimeNS, msgs[i])
	}
}

// annotations returns c's annotations at tsNS over its images; under v.mu.
func (v *View) annotations(c *camera, tsNS int64) []byte {
	return v.ann.Append(nil, c.stream, tsNS, int(c.width.Load()), int(c.height.Load()))
}

// Faces offers the faces the visual features track in a camera's frame
// of capture time timeNS, in the pixels of that frameW×frameH frame (it
// copies faces): they are drawn from now on, and when the frame's image
// was sent (the sample tap sees a frame before fusion does), the camera's
// annotations go out with the image's timestamp.
func (v *View) Faces(stream av.StreamID, timeNS int64, frameW, frameH int, faces []Face) {
	v.mu.Lock()
	c := v.camera(stream)
	v.ann.Faces(stream, timeNS, frameW, frameH, faces)
	if !v.srv.Subscribed(c.annots) || !slices.Contains(c.sentNS[:min(c.sentN, len(c.sentNS))], timeNS) {
		v.mu.Unlock()
		return
	}
	msg := v.annotations(c, timeNS)
	v.mu.Unlock()
	v.srv.Publish(c.annots, timeNS, msg)
}

// Status offers a status message.
func (v *View) Status(st *decision.Status) {
	if !v.srv.Subscribed(v.status) {
		return
	}
	if b, err := json.Marshal(st); err == nil {
		v.srv.Publish(v.status, st.TimeNS, b)
	}
}

// Time advances the viewers' clock (replay; Options.Time).
func (v *View) Time(ns int64) { v.srv.Time(ns) }

// Stats returns the view's and its server's counters.
func (v *View) Stats() ViewStats {
	return ViewStats{Stats: v.srv.Stats(), Images: v.images.Load(), SkippedImages: v.skipped.Load(), EncodeErrors: v.encodeErrors.Load()}
}

// Sample offers a sample from the pipeline (a sample tap): frames and
// audio chunks; it keeps neither.
func (v *View) Sample(s av.Sample) {
	switch x := s.(type) {
	case *av.Frame:
		v.Frame(x)
	case *av.AudioChunk:
		v.Audio(x)
	}
}

// WriteDecision offers a decision (a decision sink, beside NATS and the
// recorder); it never fails and never blocks.
func (v *View) WriteDecision(d *av.Decision, _ []byte) error {
	v.Decision(&d.Decision)
	return nil
}

// Serve serves the view on ln (see Listen) until ctx ends: the server and
// the JPEG encoder.
func (v *View) Serve(ctx context.Context, ln net.Listener) error {
	done := make(chan error, 1)
	go func() { done <- v.Run(ctx) }()
	err := v.srv.Serve(ctx, ln)
	<-done
	return err
}
