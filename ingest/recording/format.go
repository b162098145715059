package recording

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/seed-4c364652/fusiond/ingest/av"
)

// Schema names, as Foxglove defines them, and fusiond's own.
const (
	SchemaRawImage   = "foxglove.RawImage"
	SchemaRawAudio   = "foxglove.RawAudio"
	SchemaAudioIndex = "fusiond.audio_index.v1"
	SchemaStatus     = "fusiond.status.v1"
)

// Topics of fusiond's own channels.
const (
	TopicAudioIndex = "/fusiond/audio_index"
	TopicDecisions  = "/fusiond/decisions"
	TopicStatus     = "/fusiond/status"
)

// ImageTopic and AudioTopic name a stream's channel.
func ImageTopic(stream av.StreamID) string { return "/" + string(stream) + "/image" }

// AudioTopic names an audio stream's channel.
func AudioTopic(stream av.StreamID) string { return "/" + string(stream) + "/audio" }

// AnnotationsTopic names a video stream's annotations channel
// (SchemaImageAnnotations): what fusiond drew over its images, an output
// that replay does not read.
func AnnotationsTopic(stream av.StreamID) string { return "/" + string(stream) + "/annotations" }

// ErrFormat is wrapped by every error about a message that does not decode.
var ErrFormat = errors.New("recording: bad message")

// Field numbers of foxglove.RawImage, foxglove.RawAudio and
// google.protobuf.Timestamp.
const (
	rawImageTimestamp = 1
	rawImageWidth     = 2
	rawImageHeight    = 3
	rawImageEncoding  = 4
	rawImageStep      = 5
	rawImageData      = 6
	rawImageFrameID   = 7

	rawAudioTimestamp = 1
	rawAudioData      = 2
	rawAudioFormat    = 3
	rawAudioRate      = 4
	rawAudioChannels  = 5

	timestampSeconds = 1
	timestampNanos   = 2
)

// fileDescriptorSet builds the FileDescriptorSet of one Foxglove message
// (with google/protobuf/timestamp.proto), as MCAP's protobuf schema data.
func fileDescriptorSet(name string, fields []*descriptorpb.FieldDescriptorProto) []byte {
	return fileDescriptorSetOf(name, &descriptorpb.DescriptorProto{Name: proto.String(name), Field: fields})
}

// fileDescriptorSetOf builds the FileDescriptorSet of foxglove/<file>.proto
// holding msgs (with google/protobuf/timestamp.proto).
func fileDescriptorSetOf(file string, msgs ...*descriptorpb.DescriptorProto) []byte {
	ts := &descriptorpb.FileDescriptorProto{
		Name:    proto.String("google/protobuf/timestamp.proto"),
		Package: proto.String("google.protobuf"),
		Syntax:  proto.String("proto3"),
		MessageType: []*descriptorpb.DescriptorProto{{
			Name: proto.String("Timestamp"),
			Field: []*descriptorpb.FieldDescriptorProto{
				field("seconds", timestampSeconds, descriptorpb.FieldDescriptorProto_TYPE_INT64, ""),
				field("nanos", timestampNanos, descriptorpb.FieldDescriptorProto_TYPE_INT32, ""),
			},
		}},
	}
	msg := &descriptorpb.FileDescriptorProto{
		Name:        proto.String("foxglove/" + file + ".proto"),
		Package:     proto.String("foxglove"),
		Syntax:      proto.String("proto3"),
		Dependency:  []string{"google/protobuf/timestamp.proto"},
		MessageType: msgs,
	}
	b, err := proto.Marshal(&descriptorpb.FileDescriptorSet{File: []*descriptorpb.FileDescriptorProto{ts, msg}})
	if err != nil {
		panic("recording: descriptor does not marshal: " + err.Error()) // static data; TestSchemas covers it
	}
	return b
}

func field(name string, num int32, typ descriptorpb.FieldDescriptorProto_Type, typeName string) *descriptorpb.FieldDescriptorProto {
	f := &descriptorpb.FieldDescriptorProto{
		Name:     proto.String(name),
		JsonName: proto.String(name),
		Number:   proto.Int32(num),
		Label:    descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(),
		Type:     typ.Enum(),
	}
	if typeName != "" {
		f.TypeName = proto.String(typeName)
	}
	return f
}

// rawImageSchema and rawAudioSchema are the schema data of the Foxglove
// messages, exactly as Foxglove defines them.
func rawImageSchema() []byte {
	T := descriptorpb.FieldDescriptorProto_TYPE_MESSAGE
	return fileDescriptorSet("RawImage", []*descriptorpb.FieldDescriptorProto{
		field("timestamp", rawImageTimestamp, T, ".google.protobuf.Timestamp"),
		field("frame_id", rawImageFrameID, descriptorpb.FieldDescriptorProto_TYPE_STRING, ""),
		field("width", rawImageWidth, descriptorpb.FieldDescriptorProto_TYPE_FIXED32, ""),
		field("height", rawImageHeight, descriptorpb.FieldDescriptorProto_TYPE_FIXED32, ""),
		field("encoding", rawImageEncoding, descriptorpb.FieldDescriptorProto_TYPE_STRING, ""),
		field("step", rawImageStep, descriptorpb.FieldDescriptorProto_TYPE_FIXED32, ""),
		field("data", rawImageData, descriptorpb.FieldDescriptorProto_TYPE_BYTES, ""),
	})
}

func rawAudioSchema() []byte {
	return fileDescriptorSet("RawAudio", []*descriptorpb.FieldDescriptorProto{
		field("timestamp", rawAudioTimestamp, descriptorpb.FieldDescriptorProto_TYPE_MESSAGE, ".google.protobuf.Timestamp"),
		field("data", rawAudioData, descriptorpb.FieldDescriptorProto_TYPE_BYTES, ""),
		field("format", rawAudioFormat, descriptorpb.FieldDescriptorProto_TYPE_STRING, ""),
		field("sample_rate", rawAudioRate, descriptorpb.FieldDescriptorProto_TYPE_FIXED32, ""),
		field("number_of_channels", rawAudioChannels, descriptorpb.FieldDescriptorProto_TYPE_FIXED32, ""),
	})
}

func appendTimestamp(b []byte, num protowire.Number, ns int64) []byte {
	sec, nsec := ns/1e9, ns%1e9
	if nsec < 0 {
		sec, nsec = sec-1, nsec+1e9
	}
	var ts []byte
	ts = protowire.AppendTag(ts, timestampSeconds, protowire.VarintType)
	ts = protowire.AppendVarint(ts, uint64(sec))
	ts = protowire.AppendTag(ts, timestampNanos, protowire.VarintType)
	ts = protowire.AppendVarint(ts, uint64(nsec))
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, ts)
}

// imageEncoding names a pixel format as Foxglove does.
func imageEncoding(f av.PixelFormat) string {
	if f == av.Gray8 {
		return "mono8"
	}
	return "bgr8"
}

// AppendRawImage appends f as a foxglove.RawImage.
func AppendRawImage(b []byte, f *av.Frame) []byte {
	b = appendTimestamp(b, rawImageTimestamp, f.CaptureNS)
	b = protowire.AppendTag(b, rawImageFrameID, protowire.BytesType)
	b = protowire.AppendString(b, string(f.Stream))
	for _, v := range []struct {
		n protowire.Number
		x int
	}{{rawImageWidth, f.Width}, {rawImageHeight, f.Height}} {
		b = protowire.AppendTag(b, v.n, protowire.Fixed32Type)
		b = protowire.AppendFixed32(b, uint32(v.x))
	}
	b = protowire.AppendTag(b, rawImageEncoding, protowire.BytesType)
	b = protowire.AppendString(b, imageEncoding(f.Format))
	b = protowire.AppendTag(b, rawImageStep, protowire.Fixed32Type)
	b = protowire.AppendFixed32(b, uint32(f.Stride))
	b = protowire.AppendTag(b, rawImageData, protowire.BytesType)
	return protowire.AppendBytes(b, f.Pix[:f.Stride*f.Height])
}

// AppendRawAudio appends c as a foxglove.RawAudio in pcm-s16. Pipeline audio
// lies on the 16-bit grid (av.QuantizeS16), so this loses nothing.
func AppendRawAudio(b []byte, c *av.AudioChunk) []byte {
	b = appendTimestamp(b, rawAudioTimestamp, c.CaptureNS)
	b = protowire.AppendTag(b, rawAudioData, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(2*len(c.Data)))
	for _, x := range c.Data {
		b = binary.LittleEndian.AppendUint16(b, uint16(av.ToS16(x)))
	}
	b = protowire.AppendTag(b, rawAudioFormat, protowire.BytesType)
	b = protowire.AppendString(b, "pcm-s16")
	b = protowire.AppendTag(b, rawAudioRate, protowire.Fixed32Type)
	b = protowire.AppendFixed32(b, uint32(c.RateHz))
	b = protowire.AppendTag(b, rawAudioChannels, protowire.Fixed32Type)
	return protowire.AppendFixed32(b, uint32(c.Channels))
}

// RawImage is a decoded foxglove.RawImage.
type RawImage struct {
	TimestampNS   int64
	FrameID       string
	Width, Height int
	Encoding      string
	Step          int
	Data          []byte // aliases the message
}

// RawAudio is a decoded foxglove.RawAudio.
type RawAudio struct {
	TimestampNS int64
	Data        []byte // aliases the message
	Format      string
	RateHz      int
	Channels    int
}

// fieldFunc handles one field of a message being decoded.
type fieldFunc func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error

// walk decodes the fields of a protobuf message.
func walk(b []byte, f fieldFunc) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("%w: %v", ErrFormat, protowire.ParseError(n))
		}
		b = b[n:]
		var v []byte
		var x uint64
		switch typ {
		case protowire.VarintType:
			x, n = protowire.ConsumeVarint(b)
		case protowire.Fixed32Type:
			var x32 uint32
			x32, n = protowire.ConsumeFixed32(b)
			x = uint64(x32)
		case protowire.Fixed64Type:
			x, n = protowire.ConsumeFixed64(b)
		case protowire.BytesType:
			v, n = protowire.ConsumeBytes(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return fmt.Errorf("%w: field %d: %v", ErrFormat, num, protowire.ParseError(n))
		}
		b = b[n:]
		if err := f(num, typ, v, x); err != nil {
			return err
		}
	}
	return nil
}

func decodeTimestamp(b []byte) (int64, error) {
	var sec, nsec int64
	err := walk(b, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
		switch num {
		case timestampSeconds:
			sec = int64(x)
		case timestampNanos:
			nsec = int64(int32(x))
		}
		return nil
	})
	if sec > math.MaxInt64/1_000_000_000-1 || sec < 0 {
		return 0, fmt.Errorf("%w: timestamp %d s out of range", ErrFormat, sec)
	}
	return sec*1e9 + nsec, err
}

// DecodeRawImage decodes a foxglove.RawImage.
func DecodeRawImage(b []byte) (RawImage, error) {
	var m RawImage
	err := walk(b, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) (err error) {
		switch num {
		case rawImageTimestamp:
			m.TimestampNS, err = decodeTimestamp(v)
		case rawImageFrameID:
			m.FrameID = string(v)
		case rawImageWidth:
			m.Width = int(x)
		case rawImageHeight:
			m.Height = int(x)
		case rawImageEncoding:
			m.Encoding = string(v)
		case rawImageStep:
			m.Step = int(x)
		case rawImageData:
			m.Data = v
		}
		return err
	})
	if err != nil {
		return m, err
	}
	if m.Width <= 0 || m.Height <= 0 || m.Width > 1<<14 || m.Height > 1<<14 || m.Step < m.Width || len(m.Data) < m.Step*m.Height {
		return m, fmt.Errorf("%w: image %dx%d step %d with %d bytes", ErrFormat, m.Width, m.Height, m.Step, len(m.Data))
	}
	return m, nil
}

// DecodeRawAudio decodes a foxglove.RawAudio.
func DecodeRawAudio(b []byte) (RawAudio, error) {
	var m RawAudio
	err := walk(b, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) (err error) {
		switch num {
		case rawAudioTimestamp:
			m.TimestampNS, err = decodeTimestamp(v)
		case rawAudioData:
			m.Data = v
		case rawAudioFormat:
			m.Format = string(v)
		case rawAudioRate:
			m.RateHz = int(x)
		case rawAudioChannels:
			m.Channels = int(x)
		}
		return err
	})
	if err != nil {
		return m, err
	}
	if m.Format != "pcm-s16" || m.RateHz <= 0 || m.RateHz > 1e6 || m.Channels <= 0 || m.Channels > 64 || len(m.Data)%(2*m.Channels) != 0 {
		return m, fmt.Errorf("%w: audio %q at %d Hz, %d channels, %d bytes", ErrFormat, m.Format, m.RateHz, m.Channels, len(m.Data))
	}
	return m, nil
}
