package recording

import (
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"
)

// Names of the Foxglove schemas a live view (sinks/foxglove) sends beside
// the recorded samples; recordings carry the annotations too (a channel
// per camera, AnnotationsTopic).
const (
	SchemaCompressedImage  = "foxglove.CompressedImage"
	SchemaImageAnnotations = "foxglove.ImageAnnotations"
)

// ProtoSchema returns the protobuf schema data (a FileDescriptorSet, as
// MCAP and the Foxglove WebSocket protocol carry it) of a Foxglove schema:
// SchemaRawImage, SchemaRawAudio, SchemaCompressedImage or
// SchemaImageAnnotations; nil for any other name. The fields are Foxglove's
// own, by number and type (the metadata fields, which fusiond never sets,
// are left out).
func ProtoSchema(name string) []byte {
	switch name {
	case SchemaRawImage:
		return rawImageSchema()
	case SchemaRawAudio:
		return rawAudioSchema()
	case SchemaCompressedImage:
		return fileDescriptorSet("CompressedImage", []*descriptorpb.FieldDescriptorProto{
			field("timestamp", 1, tMessage, ".google.protobuf.Timestamp"),
			field("frame_id", 4, tString, ""),
			field("data", 2, descriptorpb.FieldDescriptorProto_TYPE_BYTES, ""),
			field("format", 3, tString, ""),
		})
	case SchemaImageAnnotations:
		return imageAnnotationsSchema()
	}
	return nil
}

const (
	tMessage = descriptorpb.FieldDescriptorProto_TYPE_MESSAGE
	tString  = descriptorpb.FieldDescriptorProto_TYPE_STRING
	tDouble  = descriptorpb.FieldDescriptorProto_TYPE_DOUBLE
)

func repeated(f *descriptorpb.FieldDescriptorProto) *descriptorpb.FieldDescriptorProto {
	f.Label = descriptorpb.FieldDescriptorProto_LABEL_REPEATED.Enum()
	return f
}

// imageAnnotationsSchema is foxglove.ImageAnnotations with the messages it
// uses (CircleAnnotation, PointsAnnotation, TextAnnotation, Point2, Color)
// in one file of package foxglove.
func imageAnnotationsSchema() []byte {
	ts := ".google.protobuf.Timestamp"
	msg := func(name string, fields ...*descriptorpb.FieldDescriptorProto) *descriptorpb.DescriptorProto {
		return &descriptorpb.DescriptorProto{Name: proto.String(name), Field: fields}
	}
	points := msg("PointsAnnotation",
		field("timestamp", 1, tMessage, ts),
		field("type", 2, descriptorpb.FieldDescriptorProto_TYPE_ENUM, ".foxglove.PointsAnnotation.Type"),
		repeated(field("points", 3, tMessage, ".foxglove.Point2")),
		field("outline_color", 4, tMessage, ".foxglove.Color"),
		repeated(field("outline_colors", 5, tMessage, ".foxglove.Color")),
		field("fill_color", 6, tMessage, ".foxglove.Color"),
		field("thickness", 7, tDouble, ""),
	)
	var values []*descriptorpb.EnumValueDescriptorProto
	for i, n := range []string{"UNKNOWN", "POINTS", "LINE_LOOP", "LINE_STRIP", "LINE_LIST"} {
		values = append(values, &descriptorpb.EnumValueDescriptorProto{Name: proto.String(n), Number: proto.Int32(int32(i))})
	}
	points.EnumType = []*descriptorpb.EnumDescriptorProto{{Name: proto.String("Type"), Value: values}}
	return fileDescriptorSetOf("ImageAnnotations",
		msg("Point2", field("x", 1, tDouble, ""), field("y", 2, tDouble, "")),
		msg("Color", field("r", 1, tDouble, ""), field("g", 2, tDouble, ""), field("b", 3, tDouble, ""), field("a", 4, tDouble, "")),
		msg("CircleAnnotation",
			field("timestamp", 1, tMessage, ts),
			field("position", 2, tMessage, ".foxglove.Point2"),
			field("diameter", 3, tDouble, ""),
			field("thickness", 4, tDouble, ""),
			field("fill_color", 5, tMessage, ".foxglove.Color"),
			field("outline_color", 6, tMessage, ".foxglove.Color"),
		),
		points,
		msg("TextAnnotation",
			field("timestamp", 1, tMessage, ts),
			field("position", 2, tMessage, ".foxglove.Point2"),
			field("text", 3, tString, ""),
			field("font_size", 4, tDouble, ""),
			field("text_color", 5, tMessage, ".foxglove.Color"),
			field("background_color", 6, tMessage, ".foxglove.Color"),
		),
		msg("ImageAnnotations",
			repeated(field("circles", 1, tMessage, ".foxglove.CircleAnnotation")),
			repeated(field("points", 2, tMessage, ".foxglove.PointsAnnotation")),
			repeated(field("texts", 3, tMessage, ".foxglove.TextAnnotation")),
		),
	)
}

// AppendTimestamp appends field num as a google.protobuf.Timestamp of ns
// (nanoseconds since the Unix epoch), for messages built beside these.
func AppendTimestamp(b []byte, num protowire.Number, ns int64) []byte {
	return appendTimestamp(b, num, ns)
}
