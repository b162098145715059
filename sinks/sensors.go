package sinks

import (
	"bytes"
	"context"
	"encoding/binary"
	"image"
	"image/jpeg"
	"math"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/nats-io/nats.go"

	"github.com/seed-4c364652/fusiond/ingest/av"
)

// SensorConfig configures best-effort sample publishing on
// fusion.<robot>.sensor.<stream>.<format>.
type SensorConfig struct {
	Robot string
	// Every publishes one video frame in this many (default 1); audio
	// chunks are all published.
	Every int
	// JPEGQuality of frames, 1..100 (default 75).
	JPEGQuality int
	// Queue is how many samples may wait for encoding (default 4); when it
	// is full the new sample is skipped and counted: capture never waits.
	Queue int
}

// SensorStats count what the sensor publisher did.
type SensorStats struct {
	Published uint64 `json:"published"`
	Oversize  uint64 `json:"oversize"`
	Skipped   uint64 `json:"skipped"` // queue full, or not this frame's turn
	Failed    uint64 `json:"failed"`
}

// SensorPublisher publishes camera frames (JPEG) and audio chunks (16-bit
// little-endian PCM, interleaved) on core NATS, best effort: Offer copies
// the sample (the pipeline keeps ownership) and returns at once; Run
// encodes and publishes on its own goroutine. Every message is checked
// against the server's max payload first; an oversize one is counted and
// skipped, and the connection stays up.
type SensorPublisher struct {
	nc    *nats.Conn
	cfg   SensorConfig
	queue chan *sensorJob
	free  sync.Pool
	seen  map[av.StreamID]uint64 // frames offered per stream, under mu
	mu    sync.Mutex

	counters SensorCounters
	skipped  atomic.Uint64
	rgba     *image.RGBA
	gray     *image.Gray
	jpegBuf  bytes.Buffer
	pcmBytes []byte
}

type sensorJob struct {
	stream                av.StreamID
	captureNS             int64
	video                 bool
	width, height, stride int
	format                av.PixelFormat
	rateHz, channels      int
	pix                   []byte
	pcm                   []float32
}

// NewSensorPublisher returns a publisher on nc; start Run.
func NewSensorPublisher(nc *nats.Conn, cfg SensorConfig) *SensorPublisher {
	if cfg.Every <= 0 {
		cfg.Every = 1
	}
	if cfg.JPEGQuality <= 0 || cfg.JPEGQuality > 100 {
		cfg.JPEGQuality = 75
	}
	if cfg.Queue <= 0 {
		cfg.Queue = 4
	}
	s := &SensorPublisher{nc: nc, cfg: cfg, queue: make(chan *sensorJob, cfg.Queue), seen: map[av.StreamID]uint64{}}
	s.free.New = func() any { return new(sensorJob) }
	return s
}

// Offer copies a frame or an audio chunk for publishing, or skips it.
// Safe from several goroutines.
func (s *SensorPublisher) Offer(smp av.Sample) {
	j := s.free.Get().(*sensorJob)
	switch v := smp.(type) {
	case *av.Frame:
		s.mu.Lock()
		n := s.seen[v.Stream]
		s.seen[v.Stream] = n + 1
		s.mu.Unlock()
		if n%uint64(s.cfg.Every) != 0 {
			s.skipped.Add(1)
			s.free.Put(j)
			return
		}
		j.video, j.width, j.height, j.stride, j.format = true, v.Width, v.Height, v.Stride, v.Format
		j.pix = append(j.pix[:0], v.Pix[:v.Stride*v.Height]...)
	case *av.AudioChunk:
		j.video, j.rateHz, j.channels = false, v.RateHz, v.Channels
		j.pcm = append(j.pcm[:0], v.Data...)
	default:
		s.free.Put(j)
		return
	}
	m := smp.SampleMeta()
	j.stream, j.captureNS = m.Stream, m.CaptureNS
	select {
	case s.queue <- j:
	default:
		s.skipped.Add(1)
		s.free.Put(j)
	}
}

// Run encodes and publishes offered samples until ctx ends.
func (s *SensorPublisher) Run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case j := <-s.queue:
			s.publish(j)
			s.free.Put(j)
		}
	}
}

func (s *SensorPublisher) publish(j *sensorJob) {
	msg := &nats.Msg{Header: make(nats.Header, 4)}
	msg.Header[HeaderCaptureTime] = []string{strconv.FormatInt(j.captureNS, 10)}
	if j.video {
		data, ok := s.encodeJPEG(j)
		if !ok {
			s.counters.Failed.Add(1)
			return
		}
		msg.Subject = SensorSubject(s.cfg.Robot, string(j.stream), "jpeg")
		msg.Header["Content-Type"] = []string{"image/jpeg"}
		msg.Data = data
	} else {
		s.pcmBytes = s.pcmBytes[:0]
		for _, f := range j.pcm {
			v := int16(math.Round(float64(max(-1, min(1, f))) * 32767))
			s.pcmBytes = binary.LittleEndian.AppendUint16(s.pcmBytes, uint16(v))
		}
		msg.Subject = SensorSubject(s.cfg.Robot, string(j.stream), "pcm16")
		msg.Header["Content-Type"] = []string{"audio/L16; rate=" + strconv.Itoa(j.rateHz) + "; channels=" + strconv.Itoa(j.channels)}
		msg.Data = s.pcmBytes
	}
	if !fits(s.nc, len(msg.Data)+headerSize(msg.Header)) {
		s.counters.Oversize.Add(1)
		return
	}
	if err := s.nc.PublishMsg(msg); err != nil {
		s.counters.Failed.Add(1)
		return
	}
	s.counters.Published.Add(1)
}

// encodeJPEG encodes a BGR or grey frame; the bytes are valid until the
// next call.
func (s *SensorPublisher) encodeJPEG(j *sensorJob) ([]byte, bool) {
	var img image.Image
	switch j.format {
	case av.BGR24:
		if s.rgba == nil || s.rgba.Rect.Dx() != j.width || s.rgba.Rect.Dy() != j.height {
			s.rgba = image.NewRGBA(image.Rect(0, 0, j.width, j.height))
		}
		for y := range j.height {
			src := j.pix[y*j.stride : y*j.stride+3*j.width]
			dst := s.rgba.Pix[y*s.rgba.Stride : y*s.rgba.Stride+4*j.width]
			for x := range j.width {
				dst[4*x], dst[4*x+1], dst[4*x+2], dst[4*x+3] = src[3*x+2], src[3*x+1], src[3*x], 255
			}
		}
		img = s.rgba
	case av.Gray8:
		if s.gray == nil || s.gray.Rect.Dx() != j.width || s.gray.Rect.Dy() != j.height {
			s.gray = image.NewGray(image.Rect(0, 0, j.width, j.height))
		}
		for y := range j.height {
			copy(s.gray.Pix[y*s.gray.Stride:y*s.gray.Stride+j.width], j.pix[y*j.stride:])
		}
		img = s.gray
	default:
		return nil, false
	}
	s.jpegBuf.Reset()
	if err := jpeg.Encode(&s.jpegBuf, img, &jpeg.Options{Quality: s.cfg.JPEGQuality}); err != nil {
		return nil, false
	}
	return s.jpegBuf.Bytes(), true
}

// Stats returns the publisher's counters.
func (s *SensorPublisher) Stats() SensorStats {
	return SensorStats{Published: s.counters.Published.Load(), Oversize: s.counters.Oversize.Load(),
		Skipped: s.skipped.Load(), Failed: s.counters.Failed.Load()}
}
