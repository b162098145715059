package recording

import (
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
)

// TestProtoSchema: each schema is a FileDescriptorSet that protobuf's own
// descriptor builder accepts and that defines the named message with the
// fields live viewers and recordings fill. (scripts/foxglove-check holds
// them field for field to @foxglove/schemas.)
func TestProtoSchema(t *testing.T) {
	for _, tc := range []struct {
		name   string
		fields []string
	}{
		{SchemaRawImage, []string{"timestamp", "frame_id", "width", "height", "encoding", "step", "data"}},
		{SchemaRawAudio, []string{"timestamp", "data", "format", "sample_rate", "number_of_channels"}},
		{SchemaCompressedImage, []string{"timestamp", "frame_id", "data", "format"}},
		{SchemaImageAnnotations, []string{"circles", "points", "texts"}},
	} {
		var set descriptorpb.FileDescriptorSet
		if err := proto.Unmarshal(ProtoSchema(tc.name), &set); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		files, err := protodesc.NewFiles(&set)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		d, err := files.FindDescriptorByName(protoreflect.FullName(tc.name))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		msg := d.(protoreflect.MessageDescriptor)
		if msg.Fields().Len() != len(tc.fields) {
			t.Errorf("%s: %d fields", tc.name, msg.Fields().Len())
		}
		for _, f := range tc.fields {
			if msg.Fields().ByName(protoreflect.Name(f)) == nil {
				t.Errorf("%s: no field %s", tc.name, f)
			}
		}
	}
	if ProtoSchema("foxglove.Nope") != nil {
		t.Error("a schema for an unknown name")
	}
}
