package foxglove

import (
	"math"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/seed-4c364652/fusiond/ingest/recording"
	"github.com/seed-4c364652/fusiond/sinks/decision"
)

func TestBearingX(t *testing.T) {
	for _, tc := range []struct{ bearing, hfov, width, want float64 }{
		{0, 60, 640, 320},
		{30, 60, 640, 640},
		{-30, 60, 640, 0},
		{15, 60, 640, 320 * (1 + math.Tan(15*math.Pi/180)/math.Tan(30*math.Pi/180))},
		{45, 60, 640, 640}, // outside the view: the edge
		{-80, 90, 100, 0},
	} {
		if got := bearingX(tc.bearing, tc.hfov, tc.width); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("bearingX(%v, %v, %v) = %v, want %v", tc.bearing, tc.hfov, tc.width, got, tc.want)
		}
	}
}

// decodeMessage decodes b as the named Foxglove message with the schema
// its channel advertises.
func decodeMessage(t *testing.T, name string, b []byte) protoreflect.Message {
	t.Helper()
	var set descriptorpb.FileDescriptorSet
	if err := proto.Unmarshal(recording.ProtoSchema(name), &set); err != nil {
		t.Fatal(err)
	}
	files, err := protodesc.NewFiles(&set)
	if err != nil {
		t.Fatal(err)
	}
	d, err := files.FindDescriptorByName(protoreflect.FullName(name))
	if err != nil {
		t.Fatal(err)
	}
	m := dynamicpb.NewMessage(d.(protoreflect.MessageDescriptor))
	if err := proto.Unmarshal(b, m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestAnnotations: the shapes drawn for known decisions, decoded with the
// advertised schema: a speaker at -20° ± 3° on a 640x480 image from a
// 60° camera is a yellow box from bearingX(-26°) to bearingX(-14°); the
// speech's bearing a vertical line; the motion centre a circle; a label
// per active kind; inactive kinds draw nothing.
func TestAnnotations(t *testing.T) {
	v := NewView(NewServer(Options{Logger: quiet}), ViewOptions{}) // 60° cameras
	v.Frame(testFrame("cam0", baseNS))                             // the image's size
	speaker := testDecision("speaker", 1, baseNS)
	speech := testDecision("speech", 2, baseNS)
	speech.Evidence["bearing_deg"] = 10
	presence := testDecision("presence", 3, baseNS)
	presence.State = decision.StateInactive
	activity := testDecision("activity", 4, baseNS)
	for _, d := range []*decision.Decision{speaker, speech, presence, activity} {
		v.note(d)
	}
	a := v.annotations(v.cams["cam0"])
	if len(a.Points) != 2 || len(a.Circles) != 1 || len(a.Texts) != 2+3 {
		t.Fatalf("%d points, %d circles, %d texts: %+v", len(a.Points), len(a.Circles), len(a.Texts), a)
	}
	box := a.Points[0]
	x0, x1 := bearingX(-26, 60, 640), bearingX(-14, 60, 640)
	w := x1 - x0
	want := []point{{x0, 240 - w/2}, {x1, 240 - w/2}, {x1, 240 + w/2}, {x0, 240 + w/2}}
	if box.Type != lineLoop || box.Outline != colorSpeaking || len(box.Points) != 4 {
		t.Fatalf("speaker box %+v", box)
	}
	for i := range want {
		if math.Abs(box.Points[i].X-want[i].X) > 1e-9 || math.Abs(box.Points[i].Y-want[i].Y) > 1e-9 {
			t.Fatalf("speaker box %v, want %v", box.Points, want)
		}
	}
	line := a.Points[1]
	if x := bearingX(10, 60, 640); line.Type != lineStrip || line.Points[0] != (point{x, 0}) || line.Points[1] != (point{x, 480}) {
		t.Fatalf("speech line %+v", line)
	}
	if c := a.Circles[0]; c.Center != (point{0.25 * 640, 0.5 * 480}) {
		t.Fatalf("motion circle %+v", c)
	}

	// The wire form, decoded with the advertised schema.
	m := decodeMessage(t, recording.SchemaImageAnnotations, appendAnnotations(nil, baseNS+7, &a))
	js, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(m.Interface())
	if err != nil {
		t.Fatal(err)
	}
	fields := m.Descriptor().Fields()
	points := m.Get(fields.ByName("points")).List()
	if points.Len() != 2 {
		t.Fatalf("%s", js)
	}
	p0 := points.Get(0).Message()
	pf := p0.Descriptor().Fields()
	if p0.Get(pf.ByName("type")).Enum() != lineLoop || p0.Get(pf.ByName("points")).List().Len() != 4 ||
		p0.Get(pf.ByName("thickness")).Float() != 5 {
		t.Fatalf("%s", js)
	}
	ts := p0.Get(pf.ByName("timestamp")).Message()
	tf := ts.Descriptor().Fields()
	if ts.Get(tf.ByName("seconds")).Int()*1e9+ts.Get(tf.ByName("nanos")).Int() != baseNS+7 {
		t.Fatalf("timestamp %s", js)
	}
	texts := m.Get(fields.ByName("texts")).List()
	if got := texts.Get(0).Message().Get(texts.Get(0).Message().Descriptor().Fields().ByName("text")).String(); got != "speaking -20°" {
		t.Fatalf("label %q", got)
	}
}

// TestCompressedImage: the image message decodes with its advertised
// schema.
func TestCompressedImage(t *testing.T) {
	m := decodeMessage(t, recording.SchemaCompressedImage, appendCompressedImage(nil, baseNS+5, "cam0", "jpeg", []byte{0xff, 0xd8}))
	f := m.Descriptor().Fields()
	if m.Get(f.ByName("frame_id")).String() != "cam0" || m.Get(f.ByName("format")).String() != "jpeg" || len(m.Get(f.ByName("data")).Bytes()) != 2 {
		t.Fatal(m)
	}
}
