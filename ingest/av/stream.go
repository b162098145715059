package av

// StreamID names one input stream, as configured ("cam0", "mic0").
type StreamID string

// Modality is the kind of evidence a stream carries.
type Modality string

// The modalities fusiond fuses.
const (
	Video Modality = "video"
	Audio Modality = "audio"
)

// Meta is what every sample carries, whatever its payload.
type Meta struct {
	Stream StreamID
	// Seq counts the samples a source produced on this stream, from 0. A gap
	// in Seq downstream means samples were dropped.
	Seq uint64
	// CaptureNS is the best estimate of when the sensor saw the sample (for
	// audio, its first sample), in pipeline nanoseconds.
	CaptureNS int64
	// ArrivalNS is when the pipeline received the sample.
	ArrivalNS int64
}

// Sample is a Frame or an AudioChunk on its way from ingest to sync.
type Sample interface {
	// SampleMeta returns the sample's header.
	SampleMeta() *Meta
	// Release returns the sample's buffers to their pool. The caller must
	// not use the sample afterwards.
	Release()
}
