package foxglove

import (
	"image"
	"math"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/seed-4c364652/fusiond/ingest/av"
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
	an := NewAnnotator(nil) // 60° cameras
	speaker := testDecision("speaker", 1, baseNS)
	speech := testDecision("speech", 2, baseNS)
	speech.Evidence["bearing_deg"] = 10
	presence := testDecision("presence", 3, baseNS)
	presence.State = decision.StateInactive
	activity := testDecision("activity", 4, baseNS)
	for _, d := range []*decision.Decision{speaker, speech, presence, activity} {
		an.Decision(d)
	}
	a := an.build("cam0", baseNS, 640, 480)
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

// TestFaceAnnotations: face boxes reported in a 640x480 frame, drawn over
// a 320x240 image: scaled by one half; the speaker candidate highlighted
// (yellow, 5 px, "speaking N") only while the speaker decision is active;
// faces replace the bearing boxes of presence and speaker while they are
// fresh, and give way to them once older than FaceMaxAgeNS.
func TestFaceAnnotations(t *testing.T) {
	faces := []Face{
		{ID: 1, Box: image.Rect(100, 80, 200, 180), Candidate: true},
		{ID: 2, Box: image.Rect(400, 100, 460, 160)},
	}
	speakerBox := func() []point { // the speaker's bearing box (-20° ± 3°) at 320x240
		x0, x1 := bearingX(-26, 60, 320), bearingX(-14, 60, 320)
		w := x1 - x0
		return []point{{x0, 120 - w/2}, {x1, 120 - w/2}, {x1, 120 + w/2}, {x0, 120 + w/2}}
	}
	type shape struct {
		points []point
		color  rgba
		linePx float64
		text   string
	}
	face1 := []point{{50, 40}, {100, 40}, {100, 90}, {50, 90}}
	face2 := []point{{200, 50}, {230, 50}, {230, 80}, {200, 80}}
	for _, tc := range []struct {
		name          string
		speakerActive bool
		atNS          int64 // annotation time after the faces' frame
		want          []shape
	}{
		{"speaking", true, 0, []shape{{face1, colorSpeaking, 5, "speaking 1"}, {face2, colorSeen, 2, "face 2"}}},
		{"silent", false, 0, []shape{{face1, colorSeen, 2, "face 1"}, {face2, colorSeen, 2, "face 2"}}},
		{"within max age", true, FaceMaxAgeNS, []shape{{face1, colorSpeaking, 5, "speaking 1"}, {face2, colorSeen, 2, "face 2"}}},
		{"stale", true, FaceMaxAgeNS + 1, []shape{{speakerBox(), colorSpeaking, 5, "speaking -20°"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			an := NewAnnotator(map[av.StreamID]float64{"cam0": 60})
			speaker := testDecision("speaker", 1, baseNS)
			if !tc.speakerActive {
				speaker.State = decision.StateInactive
			}
			an.Decision(speaker)
			an.Faces("cam0", baseNS, 640, 480, faces)
			faces[0].Box = image.Rect(0, 0, 1, 1) // kept by copy
			defer func() { faces[0].Box = image.Rect(100, 80, 200, 180) }()
			a := an.build("cam0", baseNS+tc.atNS, 320, 240)
			if len(a.Points) != len(tc.want) {
				t.Fatalf("%d boxes, want %d: %+v", len(a.Points), len(tc.want), a.Points)
			}
			for i, w := range tc.want {
				p, l := a.Points[i], a.Texts[i]
				if p.Type != lineLoop || p.Outline != w.color || p.LinePx != w.linePx || l.Text != w.text || l.Color != w.color {
					t.Errorf("box %d: %+v %+v, want %+v", i, p, l, w)
				}
				for j := range w.points {
					if math.Abs(p.Points[j].X-w.points[j].X) > 1e-9 || math.Abs(p.Points[j].Y-w.points[j].Y) > 1e-9 {
						t.Errorf("box %d: %v, want %v", i, p.Points, w.points)
						break
					}
				}
			}
			// Another camera has no faces: the bearing box.
			if b := an.build("cam1", baseNS, 320, 240); tc.speakerActive && (len(b.Points) != 1 || b.Points[0].Outline != colorSpeaking) {
				t.Errorf("cam1: %+v", b.Points)
			}
		})
	}

	// The wire form of the highlighted face, decoded with the schema.
	an := NewAnnotator(nil)
	an.Decision(testDecision("speaker", 1, baseNS))
	an.Faces("cam0", baseNS, 640, 480, faces[:1])
	m := decodeMessage(t, recording.SchemaImageAnnotations, an.Append(nil, "cam0", baseNS, 640, 480))
	points := m.Get(m.Descriptor().Fields().ByName("points")).List()
	p0 := points.Get(0).Message()
	pf := p0.Descriptor().Fields()
	corner := p0.Get(pf.ByName("points")).List().Get(2).Message()
	cf := corner.Descriptor().Fields()
	col := p0.Get(pf.ByName("outline_color")).Message()
	if points.Len() != 1 || p0.Get(pf.ByName("thickness")).Float() != 5 ||
		corner.Get(cf.ByName("x")).Float() != 200 || corner.Get(cf.ByName("y")).Float() != 180 ||
		col.Get(col.Descriptor().Fields().ByName("b")).Float() != colorSpeaking.B {
		t.Fatalf("points %d, %v", points.Len(), p0)
	}
}
