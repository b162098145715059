package recording

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"sort"
	"sync/atomic"
	"time"

	"github.com/foxglove/mcap/go/mcap"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"

	"github.com/seed-4c364652/fusiond/ingest/av"
)

// Options configures a Writer.
type Options struct {
	// Compression of chunks: "lz4" (default), "zstd" or "none".
	Compression string
	// ChunkBytes closes a chunk once it holds this many uncompressed bytes
	// (default 4 MiB).
	ChunkBytes int
	// FlushInterval closes a chunk at least this often, so that a killed
	// recorder loses at most this much (default 1 s).
	FlushInterval time.Duration
	// QueueCapacity bounds the messages waiting for the disk (default 256);
	// past it, messages are dropped and counted.
	QueueCapacity int
	// Streams are the sample streams to record, each with its modality.
	Streams []Stream
	// Metadata goes in the file's "fusiond" metadata record (config, version).
	Metadata map[string]string
	// MaxBytes, when positive, ends the recording at the first chunk
	// boundary past this size: Halted is closed, HaltErr is ErrMaxBytes,
	// and later messages are not written (nor counted as dropped).
	MaxBytes int64
}

// ErrMaxBytes is the HaltErr of a recording that reached Options.MaxBytes.
var ErrMaxBytes = errors.New("recording reached its size limit")

// maxWrite splits the writes to the file, so that progress is seen at
// least this often (a stalled disk is told from a slow one by Size).
const maxWrite = 256 << 10

// Stream is a sample stream of a recording.
type Stream struct {
	ID   av.StreamID `json:"id"`
	Kind av.Modality `json:"kind"`
}

// MetadataName names the metadata record fusiond writes.
const MetadataName = "fusiond"

// entry is one message on its way to the disk.
type entry struct {
	channel uint16
	seq     uint32
	logNS   int64
	pubNS   int64
	data    *[]byte // from the writer's pool; returned after writing
}

// Writer records to one MCAP file. Producers call Sample, WriteDecision and
// Status from any goroutine; Run, on its own goroutine, is the only one
// that touches the file. Close ends the recording.
type Writer struct {
	opts  Options
	f     *os.File
	bw    *bufio.Writer
	mw    *mcap.Writer
	queue chan entry
	bufs  *av.Pool[[]byte]

	image, audio     map[av.StreamID]uint16
	annots           map[av.StreamID]uint16
	audioIndex       uint16
	decisions        uint16
	status           uint16
	sampleCh         map[uint16]bool
	dropped, written atomic.Uint64

	file    *progressFile // counts what reached the file
	good    int64         // file offset after the last whole chunk (owned by Run)
	halted  chan struct{} // closed when Run stops writing on its own
	haltErr error         // why; set before halted is closed
	aborted atomic.Bool

	// Chunk being built (owned by Run).
	chunk      bytes.Buffer
	compressed bytes.Buffer
	indexes    map[uint16]*mcap.MessageIndex
	startNS    uint64
	endNS      uint64
	messages   int
	zenc       *zstd.Encoder
	lzw        *lz4.Writer
	rec        [23]byte
}

// Create creates (or truncates) path and writes the header, schemas,
// channels and metadata.
func Create(path string, opts Options) (*Writer, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("recording: %w", err)
	}
	w, err := NewWriter(f, opts)
	if err != nil {
		os.Remove(path)
		return nil, err
	}
	return w, nil
}

// NewWriter records to f, an empty file opened for writing (the Writer
// closes it), and writes the header, schemas, channels and metadata.
func NewWriter(f *os.File, opts Options) (*Writer, error) {
	if opts.Compression == "" {
		opts.Compression = "lz4"
	}
	if opts.ChunkBytes <= 0 {
		opts.ChunkBytes = 4 << 20
	}
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = time.Second
	}
	if opts.QueueCapacity <= 0 {
		opts.QueueCapacity = 256
	}
	w := &Writer{
		opts: opts, queue: make(chan entry, opts.QueueCapacity),
		image: map[av.StreamID]uint16{}, audio: map[av.StreamID]uint16{}, annots: map[av.StreamID]uint16{}, sampleCh: map[uint16]bool{},
		indexes: map[uint16]*mcap.MessageIndex{},
	}
	w.bufs = av.NewPool(opts.QueueCapacity+4, func() *[]byte { b := make([]byte, 0, 64<<10); return &b })
	switch opts.Compression {
	case "zstd":
		enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
		if err != nil {
			return nil, err
		}
		w.zenc = enc
	case "lz4":
		w.lzw = lz4.NewWriter(nil)
	case "none":
	default:
		return nil, fmt.Errorf("recording: unknown compression %q (want lz4, zstd or none)", opts.Compression)
	}
	w.f, w.file, w.halted = f, &progressFile{f: f}, make(chan struct{})
	w.bw = bufio.NewWriterSize(w.file, 1<<20)
	if err := w.open(); err != nil {
		f.Close()
		return nil, fmt.Errorf("recording %s: %w", f.Name(), err)
	}
	w.good = w.file.size.Load()
	return w, nil
}

// progressFile counts the bytes written to the file, in writes of at most
// maxWrite bytes.
type progressFile struct {
	f    *os.File
	size atomic.Int64
}

func (p *progressFile) Write(b []byte) (int, error) {
	var n int
	for len(b) > 0 {
		k, err := p.f.Write(b[:min(len(b), maxWrite)])
		n += k
		p.size.Add(int64(k))
		if err != nil {
			return n, err
		}
		b = b[k:]
	}
	return n, nil
}

// open writes everything that precedes the messages, and flushes it, so
// that even a recorder killed at once leaves a readable file.
func (w *Writer) open() error {
	mw, err := mcap.NewWriter(w.bw, &mcap.WriterOptions{IncludeCRC: true, Chunked: false})
	if err != nil {
		return err
	}
	w.mw = mw
	if err := mw.WriteHeader(&mcap.Header{Profile: "", Library: "fusiond"}); err != nil {
		return err
	}
	schemas := []*mcap.Schema{
		{ID: 1, Name: SchemaRawImage, Encoding: "protobuf", Data: rawImageSchema()},
		{ID: 2, Name: SchemaRawAudio, Encoding: "protobuf", Data: rawAudioSchema()},
		{ID: 3, Name: SchemaAudioIndex, Encoding: "jsonschema", Data: []byte(audioIndexSchema)},
		{ID: 4, Name: "fusiond.decision.v1", Encoding: "jsonschema", Data: []byte(`{"type":"object"}`)},
		{ID: 5, Name: SchemaStatus, Encoding: "jsonschema", Data: []byte(`{"type":"object"}`)},
		{ID: 6, Name: SchemaImageAnnotations, Encoding: "protobuf", Data: imageAnnotationsSchema()},
	}
	for _, s := range schemas {
		if err := mw.WriteSchema(s); err != nil {
			return err
		}
	}
	id := uint16(0)
	channel := func(topic string, schema uint16, enc string, meta map[string]string) (uint16, error) {
		id++
		return id, mw.WriteChannel(&mcap.Channel{ID: id, Topic: topic, SchemaID: schema, MessageEncoding: enc, Metadata: meta})
	}
	for _, s := range w.opts.Streams {
		meta := map[string]string{"fusiond.stream": string(s.ID)}
		var err error
		switch s.Kind {
		case av.Video:
			w.image[s.ID], err = channel(ImageTopic(s.ID), 1, "protobuf", meta)
			w.sampleCh[id] = true
		case av.Audio:
			w.audio[s.ID], err = channel(AudioTopic(s.ID), 2, "protobuf", meta)
			w.sampleCh[id] = true
		default:
			err = fmt.Errorf("recording: stream %s has unknown kind %q", s.ID, s.Kind)
		}
		if err != nil {
			return err
		}
	}
	var errs [3]error
	w.audioIndex, errs[0] = channel(TopicAudioIndex, 3, "json", nil)
	w.decisions, errs[1] = channel(TopicDecisions, 4, "json", nil)
	w.status, errs[2] = channel(TopicStatus, 5, "json", nil)
	if err := errors.Join(errs[:]...); err != nil {
		return err
	}
	// The annotation channels come last, so that the channels before
	// them keep the ids of recordings made without them.
	for _, s := range w.opts.Streams {
		if s.Kind != av.Video {
			continue
		}
		var err error
		if w.annots[s.ID], err = channel(AnnotationsTopic(s.ID), 6, "protobuf", map[string]string{"fusiond.stream": string(s.ID)}); err != nil {
			return err
		}
	}
	if err := mw.WriteMetadata(&mcap.Metadata{Name: MetadataName, Metadata: w.opts.Metadata}); err != nil {
		return err
	}
	return w.bw.Flush()
}

const audioIndexSchema = `{"type":"object","properties":{"stream":{"type":"string"},"seq":{"type":"integer"},"first_frame":{"type":"integer"}},"required":["stream","seq","first_frame"]}`

// enqueue hands a message to Run, or drops and counts it when the queue
// is full: a slow disk must never stall the pipeline.
func (w *Writer) enqueue(e entry) bool {
	select {
	case w.queue <- e:
		return true
	default:
		w.bufs.Put(e.data)
		w.dropped.Add(1)
		return false
	}
}

func (w *Writer) buffer() *[]byte {
	b := w.bufs.Get()
	*b = (*b)[:0]
	return b
}

// Sample records a frame or an audio chunk (copying it; the caller keeps
// ownership). It returns false when the sample was dropped. Call it from one
// goroutine, in the order the synchroniser consumes samples.
func (w *Writer) Sample(s av.Sample) bool {
	m := s.SampleMeta()
	switch v := s.(type) {
	case *av.Frame:
		ch, ok := w.image[m.Stream]
		if !ok {
			return false
		}
		b := w.buffer()
		*b = AppendRawImage(*b, v)
		return w.enqueue(entry{channel: ch, seq: uint32(m.Seq), logNS: m.ArrivalNS, pubNS: m.CaptureNS, data: b})
	case *av.AudioChunk:
		ch, ok := w.audio[m.Stream]
		if !ok {
			return false
		}
		idx := w.buffer()
		*idx = fmt.Appendf(*idx, `{"stream":%q,"seq":%d,"first_frame":%d}`, m.Stream, m.Seq, v.FirstFrame)
		if !w.enqueue(entry{channel: w.audioIndex, seq: uint32(m.Seq), logNS: m.ArrivalNS, pubNS: m.CaptureNS, data: idx}) {
			return false
		}
		b := w.buffer()
		*b = AppendRawAudio(*b, v)
		return w.enqueue(entry{channel: ch, seq: uint32(m.Seq), logNS: m.ArrivalNS, pubNS: m.CaptureNS, data: b})
	}
	return false
}

// WriteDecision records a published decision; it implements sinks.Sink. A
// decision the queue has no room for is counted, not waited for.
func (w *Writer) WriteDecision(d *av.Decision, payload []byte) error {
	b := w.buffer()
	*b = append(*b, payload...)
	if !w.enqueue(entry{channel: w.decisions, seq: uint32(d.Seq), logNS: d.Stamps[av.StagePublish], pubNS: d.TimeNS, data: b}) {
		return errors.New("recording: queue full, decision not recorded")
	}
	return nil
}

// Annotations records a video stream's annotations (a
// foxglove.ImageAnnotations, copied) for its image of capture time tsNS,
// at pipeline time logNS. It returns false when the message was dropped
// (the queue is full) or stream is not a recorded video stream.
func (w *Writer) Annotations(stream av.StreamID, tsNS, logNS int64, payload []byte) bool {
	ch, ok := w.annots[stream]
	if !ok {
		return false
	}
	b := w.buffer()
	*b = append(*b, payload...)
	return w.enqueue(entry{channel: ch, logNS: logNS, pubNS: tsNS, data: b})
}

// Status records a status message (JSON) at pipeline time nowNS.
func (w *Writer) Status(payload []byte, nowNS int64) {
	b := w.buffer()
	*b = append(*b, payload...)
	w.enqueue(entry{channel: w.status, logNS: nowNS, pubNS: nowNS, data: b})
}

// Dropped returns the messages dropped because the disk fell behind.
func (w *Writer) Dropped() uint64 { return w.dropped.Load() }

// Written returns the messages written.
func (w *Writer) Written() uint64 { return w.written.Load() }

// Size returns the bytes written to the file so far; it grows while the
// disk takes data.
func (w *Writer) Size() int64 { return w.file.size.Load() }

// Halted is closed when Run stops writing messages on its own: at the
// first write error, or at Options.MaxBytes. HaltErr then says why.
func (w *Writer) Halted() <-chan struct{} { return w.halted }

// HaltErr is the reason Run halted (ErrMaxBytes or the write error), nil
// before Halted is closed.
func (w *Writer) HaltErr() error {
	select {
	case <-w.halted:
		return w.haltErr
	default:
		return nil
	}
}

// Abort closes the file under a Run stuck in a write that does not return
// (a FIFO nobody reads; a stalled disk): a write to a pipe returns at
// once, with an error; one in a disk's system call returns when the disk
// does. Safe to call from any goroutine, with Run going on.
func (w *Writer) Abort() {
	if w.aborted.CompareAndSwap(false, true) {
		w.f.Close()
	}
}

// Close tells Run that nothing more will be recorded. Call it once, after
// the last producer call; Run then drains, finishes the file and returns.
func (w *Writer) Close() { close(w.queue) }

// Run writes queued messages until Close, then finishes the file (summary
// and footer). It returns the first write error; after one, or past
// MaxBytes, messages are not written until Close (after an error they are
// counted as dropped).
func (w *Writer) Run() error {
	ticker := time.NewTicker(w.opts.FlushInterval)
	defer ticker.Stop()
	var failed error
	halt := func(err error) {
		if w.haltErr == nil {
			w.haltErr = err
			close(w.halted)
		}
	}
	for {
		select {
		case e, ok := <-w.queue:
			if !ok {
				return w.finish(failed)
			}
			switch {
			case failed != nil:
				w.dropped.Add(1)
			case w.haltErr != nil: // past MaxBytes
			default:
				if err := w.write(e); err != nil {
					failed = err
					halt(err)
				}
			}
			w.bufs.Put(e.data)
		case <-ticker.C:
			if failed == nil && w.haltErr == nil {
				if failed = w.flushChunk(); failed != nil {
					halt(failed)
				}
			}
		}
		if m := w.opts.MaxBytes; m > 0 && failed == nil && w.good >= m {
			halt(ErrMaxBytes)
		}
	}
}

// finish ends the file: summary and footer; after a write error, as far as
// possible: the file is cut back to its last whole chunk and closed with a
// footer, so that it reads to its end.
func (w *Writer) finish(failed error) error {
	if failed == nil {
		failed = w.flushChunk()
	}
	if failed == nil {
		failed = w.mw.Close()
	}
	if failed == nil {
		failed = w.bw.Flush()
	}
	if failed != nil && !w.aborted.Load() {
		if err := w.closeAt(w.good); err != nil {
			failed = fmt.Errorf("%w (and the end could not be written at byte offset %d: %v)", failed, w.good, err)
		}
	}
	if err := w.f.Close(); failed == nil && !w.aborted.Load() {
		failed = err
	}
	if failed != nil {
		return fmt.Errorf("recording %s: %w", w.f.Name(), failed)
	}
	return nil
}

// closeAt cuts the file at offset, the end of the last whole chunk, and
// writes a data end and a footer with no summary there.
func (w *Writer) closeAt(offset int64) error {
	if err := w.f.Truncate(offset); err != nil {
		return err
	}
	var tail []byte
	tail = append(tail, byte(mcap.OpDataEnd))
	tail = binary.LittleEndian.AppendUint64(tail, 4)
	tail = binary.LittleEndian.AppendUint32(tail, 0) // no data section CRC
	tail = append(tail, byte(mcap.OpFooter))
	tail = binary.LittleEndian.AppendUint64(tail, 20)
	tail = append(tail, make([]byte, 20)...) // no summary
	tail = append(tail, mcap.Magic...)
	_, err := w.f.WriteAt(tail, offset)
	return err
}

// write appends one message record to the chunk being built.
func (w *Writer) write(e entry) error {
	data := *e.data
	offset := uint64(w.chunk.Len())
	r := w.rec[:]
	r[0] = byte(mcap.OpMessage)
	binary.LittleEndian.PutUint64(r[1:], uint64(2+4+8+8+len(data)))
	binary.LittleEndian.PutUint16(r[9:], e.channel)
	binary.LittleEndian.PutUint32(r[11:], e.seq)
	w.chunk.Write(r[:15])
	var t [16]byte
	binary.LittleEndian.PutUint64(t[0:], uint64(e.logNS))
	binary.LittleEndian.PutUint64(t[8:], uint64(e.pubNS))
	w.chunk.Write(t[:])
	w.chunk.Write(data)

	idx := w.indexes[e.channel]
	if idx == nil {
		idx = &mcap.MessageIndex{ChannelID: e.channel}
		w.indexes[e.channel] = idx
	}
	idx.Add(uint64(e.logNS), offset)
	if w.messages == 0 || uint64(e.logNS) < w.startNS {
		w.startNS = uint64(e.logNS)
	}
	w.endNS = max(w.endNS, uint64(e.logNS))
	w.messages++
	st := w.mw.Statistics
	st.MessageCount++
	st.ChannelMessageCounts[e.channel]++
	w.written.Add(1)
	if w.chunk.Len() >= w.opts.ChunkBytes {
		return w.flushChunk()
	}
	return nil
}

// flushChunk compresses the chunk being built and writes it with its
// message indexes, then pushes it to the operating system.
func (w *Writer) flushChunk() error {
	if w.messages == 0 {
		return nil
	}
	raw := w.chunk.Bytes()
	records := raw
	w.compressed.Reset()
	switch w.opts.Compression {
	case "zstd":
		records = w.zenc.EncodeAll(raw, w.compressed.Bytes()[:0])
	case "lz4":
		w.lzw.Reset(&w.compressed)
		if _, err := w.lzw.Write(raw); err != nil {
			return err
		}
		if err := w.lzw.Close(); err != nil {
			return err
		}
		records = w.compressed.Bytes()
	}
	compression := w.opts.Compression
	if compression == "none" {
		compression = ""
	}
	chunk := &mcap.Chunk{
		MessageStartTime: w.startNS, MessageEndTime: w.endNS,
		UncompressedSize: uint64(len(raw)), UncompressedCRC: crc32.ChecksumIEEE(raw),
		Compression: compression, Records: records,
	}
	channels := make([]int, 0, len(w.indexes))
	for ch, idx := range w.indexes {
		if !idx.IsEmpty() {
			channels = append(channels, int(ch))
		}
	}
	sort.Ints(channels)
	indexes := make([]*mcap.MessageIndex, 0, len(channels))
	for _, ch := range channels {
		indexes = append(indexes, w.indexes[uint16(ch)])
	}
	if err := w.mw.WriteChunkWithIndexes(chunk, indexes); err != nil {
		return err
	}
	for _, idx := range w.indexes {
		idx.Reset()
	}
	w.chunk.Reset()
	w.messages, w.startNS, w.endNS = 0, 0, 0
	// Whole chunks reach the operating system: a killed process loses at
	// most the chunk being built.
	if err := w.bw.Flush(); err != nil {
		return err
	}
	w.good = w.file.size.Load()
	return nil
}

// Metadata returns the "fusiond" metadata of a recording: the effective
// config and version.
func Metadata(configYAML, version string, streams []Stream) map[string]string {
	ss, _ := json.Marshal(streams)
	return map[string]string{"config": configYAML, "version": version, "streams": string(ss)}
}
