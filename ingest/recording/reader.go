package recording

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/foxglove/mcap/go/mcap"

	"github.com/seed-4c364652/fusiond/ingest/av"
)

// errMetadata tells Open that the metadata record has been read.
var errMetadata = errors.New("metadata read")

// ErrTruncated is wrapped when a recording ends early or is corrupt; the
// error names the byte offset, and every message before it was returned.
var ErrTruncated = errors.New("recording truncated or corrupt")

// Message is one recorded message, in file order.
type Message struct {
	Topic   string
	Schema  string
	Stream  av.StreamID // for sample channels
	Seq     uint32
	LogNS   int64  // arrival time for samples
	PubNS   int64  // capture time for samples
	Data    []byte // valid until the next call to Next
	Channel uint16
}

// Reader reads a recording in the order it was written. It needs no
// summary section, so it reads files whose recorder was killed.
type Reader struct {
	path     string
	f        *os.File
	counter  *countingReader
	lex      *mcap.Lexer
	buf      []byte
	schemas  map[uint16]*mcap.Schema
	channels map[uint16]*mcap.Channel
	meta     map[string]string
	pending  []Message // read while looking for the metadata
	done     bool
	opening  bool // Open stops at the metadata record

	firstFrames map[frameKey]int64 // audio_index entries waiting for their chunk
	frames      map[av.StreamID]*framePool
	audio       map[av.StreamID]*audioPool
}

type framePool struct {
	*av.FramePool
	width, height int
	format        av.PixelFormat
}

type audioPool struct {
	*av.AudioPool
	rateHz, channels, frames int
}

type frameKey struct {
	stream av.StreamID
	seq    uint32
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// Open opens a recording and reads up to its first message, so that
// Metadata and Streams are known.
func Open(path string) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("recording: %w", err)
	}
	r := &Reader{
		path: path, f: f, schemas: map[uint16]*mcap.Schema{}, channels: map[uint16]*mcap.Channel{},
		firstFrames: map[frameKey]int64{}, frames: map[av.StreamID]*framePool{}, audio: map[av.StreamID]*audioPool{},
	}
	// The lexer reads exactly the records it needs, so the count of bytes
	// it has read is the offset of the record it reads next.
	r.counter = &countingReader{r: bufio.NewReaderSize(f, 1<<20)}
	r.lex, err = mcap.NewLexer(r.counter, &mcap.LexerOptions{ValidateChunkCRCs: true})
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("recording %s: not an MCAP file (at byte offset 0): %w", path, err)
	}
	r.opening = true
	for r.meta == nil {
		m, err := r.next()
		if err == io.EOF || err == errMetadata {
			break
		}
		if err != nil {
			r.Close()
			return nil, err
		}
		m.Data = append([]byte(nil), m.Data...)
		r.pending = append(r.pending, m)
	}
	r.opening = false
	return r, nil
}

// Offset returns how many bytes of the file have been read.
func (r *Reader) Offset() int64 { return r.counter.n }

// Close closes the file.
func (r *Reader) Close() error {
	r.lex.Close()
	return r.f.Close()
}

// Metadata returns the recording's "fusiond" metadata (nil for a file
// fusiond did not write).
func (r *Reader) Metadata() map[string]string { return r.meta }

// Streams returns the sample streams of the recording's channels.
func (r *Reader) Streams() []Stream {
	var out []Stream
	for id := uint16(0); int(id) <= len(r.channels)+64; id++ {
		c := r.channels[id]
		if c == nil {
			continue
		}
		if s, ok := sampleStream(c, r.schemas[c.SchemaID]); ok {
			out = append(out, s)
		}
	}
	return out
}

func sampleStream(c *mcap.Channel, s *mcap.Schema) (Stream, bool) {
	if s == nil {
		return Stream{}, false
	}
	id := av.StreamID(c.Metadata["fusiond.stream"])
	if id == "" {
		id = av.StreamID(c.Topic)
	}
	switch s.Name {
	case SchemaRawImage:
		return Stream{ID: id, Kind: av.Video}, true
	case SchemaRawAudio:
		return Stream{ID: id, Kind: av.Audio}, true
	}
	return Stream{}, false
}

// Next returns the next message. At the end it returns io.EOF; for a file
// that ends early or is corrupt, an error wrapping ErrTruncated that names
// the byte offset.
func (r *Reader) Next() (Message, error) {
	if len(r.pending) > 0 {
		m := r.pending[0]
		r.pending = r.pending[1:]
		return m, nil
	}
	return r.next()
}

func (r *Reader) next() (Message, error) {
	for {
		if r.done {
			return Message{}, io.EOF
		}
		start := r.counter.n
		tok, rec, err := r.lex.Next(r.buf)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return Message{}, fmt.Errorf("%w: %s ends at byte offset %d without its footer (the recorder did not finish; everything before replayed)", ErrTruncated, r.path, r.counter.n)
			}
			return Message{}, fmt.Errorf("%w: %s: the record at byte offset %d: %v", ErrTruncated, r.path, start, err)
		}
		if cap(rec) > cap(r.buf) {
			r.buf = rec[:0]
		}
		switch tok {
		case mcap.TokenSchema:
			s, err := mcap.ParseSchema(rec)
			if err != nil {
				return Message{}, r.corrupt(start, err)
			}
			s.Data = append([]byte(nil), s.Data...)
			r.schemas[s.ID] = s
		case mcap.TokenChannel:
			c, err := mcap.ParseChannel(rec)
			if err != nil {
				return Message{}, r.corrupt(start, err)
			}
			r.channels[c.ID] = c
		case mcap.TokenMetadata:
			md, err := mcap.ParseMetadata(rec)
			if err != nil {
				return Message{}, r.corrupt(start, err)
			}
			if md.Name == MetadataName {
				r.meta = md.Metadata
				if r.meta == nil {
					r.meta = map[string]string{}
				}
				if r.opening {
					return Message{}, errMetadata
				}
			}
		case mcap.TokenFooter:
			r.done = true
			if r.meta == nil {
				r.meta = map[string]string{}
			}
			// The lexer stops at the footer record; the file must still
			// end with the magic, or it was cut (or appended to).
			at := r.counter.n
			magic := make([]byte, len(mcap.Magic)+1)
			n, _ := io.ReadFull(r.counter, magic)
			if n != len(mcap.Magic) || !bytes.Equal(magic[:n], mcap.Magic) {
				return Message{}, fmt.Errorf("%w: %s: the closing magic at byte offset %d is cut short or wrong (%d bytes; every message before it was read)", ErrTruncated, r.path, at, n)
			}
			return Message{}, io.EOF
		case mcap.TokenMessage:
			if len(rec) < 22 {
				return Message{}, r.corrupt(start, errors.New("short message record"))
			}
			m := Message{
				Channel: binary.LittleEndian.Uint16(rec[0:]),
				Seq:     binary.LittleEndian.Uint32(rec[2:]),
				LogNS:   int64(binary.LittleEndian.Uint64(rec[6:])),
				PubNS:   int64(binary.LittleEndian.Uint64(rec[14:])),
				Data:    rec[22:],
			}
			c := r.channels[m.Channel]
			if c == nil {
				return Message{}, r.corrupt(start, fmt.Errorf("message on unknown channel %d", m.Channel))
			}
			m.Topic = c.Topic
			if s := r.schemas[c.SchemaID]; s != nil {
				m.Schema = s.Name
			}
			if s, ok := sampleStream(c, r.schemas[c.SchemaID]); ok {
				m.Stream = s.ID
			}
			if r.meta == nil {
				r.meta = map[string]string{} // messages before any metadata: not fusiond's
			}
			return m, nil
		}
	}
}

func (r *Reader) corrupt(offset int64, err error) error {
	return fmt.Errorf("%w: %s: the record at byte offset %d: %v", ErrTruncated, r.path, offset, err)
}

// Sample turns a recorded frame or audio chunk into a pipeline sample (from
// the reader's pools; the caller owns it). Messages of other channels
// return nil. An audio_index message is remembered for its chunk and also
// returns nil.
func (r *Reader) Sample(m Message) (av.Sample, error) {
	switch m.Schema {
	case SchemaAudioIndex:
		var idx struct {
			Stream     av.StreamID `json:"stream"`
			Seq        uint32      `json:"seq"`
			FirstFrame int64       `json:"first_frame"`
		}
		if err := json.Unmarshal(m.Data, &idx); err != nil {
			return nil, fmt.Errorf("%w: audio index: %v", ErrFormat, err)
		}
		r.firstFrames[frameKey{idx.Stream, idx.Seq}] = idx.FirstFrame
		return nil, nil
	case SchemaRawImage:
		img, err := DecodeRawImage(m.Data)
		if err != nil {
			return nil, err
		}
		var format av.PixelFormat
		switch img.Encoding {
		case "bgr8":
			format = av.BGR24
		case "mono8":
			format = av.Gray8
		default:
			return nil, fmt.Errorf("%w: image encoding %q is not bgr8 or mono8", ErrFormat, img.Encoding)
		}
		pool := r.frames[m.Stream]
		if pool == nil || pool.width != img.Width || pool.height != img.Height || pool.format != format {
			pool = &framePool{av.NewFramePool(img.Width, img.Height, format, 8), img.Width, img.Height, format}
			r.frames[m.Stream] = pool
		}
		f := pool.Get()
		for y := range img.Height {
			copy(f.Pix[y*f.Stride:(y+1)*f.Stride], img.Data[y*img.Step:])
		}
		f.Stream, f.Seq, f.CaptureNS, f.ArrivalNS = m.Stream, uint64(m.Seq), m.PubNS, m.LogNS
		return f, nil
	case SchemaRawAudio:
		a, err := DecodeRawAudio(m.Data)
		if err != nil {
			return nil, err
		}
		n := len(a.Data) / 2
		pool := r.audio[m.Stream]
		if pool == nil || pool.rateHz != a.RateHz || pool.channels != a.Channels || pool.frames != n/a.Channels {
			pool = &audioPool{av.NewAudioPool(a.RateHz, a.Channels, n/a.Channels, 8), a.RateHz, a.Channels, n / a.Channels}
			r.audio[m.Stream] = pool
		}
		c := pool.Get()
		for i := range n {
			c.Data[i] = av.FromS16(int16(binary.LittleEndian.Uint16(a.Data[2*i:])))
		}
		key := frameKey{m.Stream, m.Seq}
		first, ok := r.firstFrames[key]
		if !ok {
			c.Release()
			return nil, fmt.Errorf("%w: audio chunk %s #%d has no audio index entry before it", ErrFormat, m.Stream, m.Seq)
		}
		delete(r.firstFrames, key)
		c.Stream, c.Seq, c.CaptureNS, c.ArrivalNS, c.FirstFrame = m.Stream, uint64(m.Seq), m.PubNS, m.LogNS, first
		return c, nil
	}
	return nil, nil
}
