package decision

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

const sample = `{"schema":"fusiond.decision.v1","robot":"demo","kind":"activity","seq":7,
 "time_ns":1795755638492620365,"confidence":0.927,"logit":2.54,
 "contributions":{"audio":1.5,"prior":0,"video":1.04},"missing":[],"degraded":false,
 "evidence":{"audio_coverage":1,"motion_energy":0.51},"latency_ns":{"capture_to_publish":41134670},"new_field":"ignored"}`

// badDecisions are sample made invalid, each with the error Decode wraps.
var badDecisions = []struct {
	name, body string
	want       error
}{
	{"v2", strings.Replace(sample, ".v1", ".v2", 1), ErrSchema},
	{"other schema", strings.Replace(sample, "fusiond.decision.v1", "fusiond.status.v1", 1), ErrSchema},
	{"no version", strings.Replace(sample, "fusiond.decision.v1", "fusiond.decision.vx", 1), ErrSchema},
	{"not json", "{", ErrMalformed},
	{"seq 0", strings.Replace(sample, `"seq":7`, `"seq":0`, 1), ErrMalformed},
	{"bad robot", strings.Replace(sample, `"robot":"demo"`, `"robot":"a.b"`, 1), ErrMalformed},
	{"bad kind", strings.Replace(sample, `"kind":"activity"`, `"kind":"a b"`, 1), ErrMalformed},
	{"confidence", strings.Replace(sample, `"confidence":0.927`, `"confidence":1.5`, 1), ErrMalformed},
	{"wrong type", strings.Replace(sample, `"seq":7`, `"seq":"7"`, 1), ErrMalformed},
}

func TestDecode(t *testing.T) {
	d, err := Decode([]byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	if d.Robot != "demo" || d.Seq != 7 || d.Contributions["video"] != 1.04 || d.LatencyNS["capture_to_publish"] != 41134670 || d.State != "" {
		t.Fatalf("%+v", d)
	}
	for _, tc := range badDecisions {
		if _, err := Decode([]byte(tc.body)); !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestDecodeStatus(t *testing.T) {
	s, err := DecodeStatus([]byte(`{"schema":"fusiond.status.v1","robot":"r","time_ns":5,"backend":"cpu",
		"drops":[{"stream":"mic0","reason":"late","count":4}],"queues":[{"name":"bundles","len":3,"cap":16}]}`))
	if err != nil {
		t.Fatal(err)
	}
	want := &Status{Schema: StatusSchema, Robot: "r", TimeNS: 5, Backend: "cpu",
		Drops: []DropCount{{Stream: "mic0", Reason: "late", Count: 4}}, Queues: []QueueDepth{{Name: "bundles", Len: 3, Cap: 16}}}
	if !reflect.DeepEqual(s, want) {
		t.Fatalf("got %+v\nwant %+v", s, want)
	}
	for body, want := range map[string]error{
		`{"schema":"fusiond.decision.v1"}`:          ErrSchema,
		`{"schema":"fusiond.status.v2"}`:            ErrSchema,
		`{"schema":"fusiond.status.v1","drops":{}}`: ErrMalformed,
		`[`: ErrMalformed,
	} {
		if _, err := DecodeStatus([]byte(body)); !errors.Is(err, want) {
			t.Errorf("%s: got %v, want %v", body, err, want)
		}
	}
}

// validDecision is a random decision that Decode accepts and the JSON
// Schema validates.
func validDecision(r *rand.Rand) *Decision {
	d := randDecision(r)
	tokens := []string{"demo", "r2", "robot_7", "activity", "speech", "sound_event"}
	d.Robot, d.Kind = tokens[r.IntN(len(tokens))]+"-x", tokens[r.IntN(len(tokens))]
	d.Seq = max(d.Seq>>r.IntN(64), 1)
	d.Confidence = float64(r.IntN(1001)) / 1000
	d.State = []string{StateActive, StateInactive, StateUnknown}[r.IntN(3)]
	d.Missing = [][]string{{}, {"video"}, {"audio"}, {"video", "audio"}}[r.IntN(4)]
	d.Contributions = map[string]float64{"prior": randFloat(r)}
	for k := range r.IntN(3) {
		d.Contributions[[]string{"video", "audio", "audio_video"}[k]] = randFloat(r)
	}
	d.Evidence = fixKeys(d.Evidence)
	if d.Evidence == nil {
		d.Evidence = map[string]float64{}
	}
	if d.Camera != "" {
		d.Camera = []string{"cam0", "front-left", "cam_2"}[r.IntN(3)]
	}
	if len(d.MissingStreams) > 0 {
		d.MissingStreams = [][]string{{"cam0"}, {"mic0"}, {"cam0", "mic0"}}[r.IntN(3)]
	} else {
		d.MissingStreams = nil // omitted when empty: decodes as nil
	}
	for _, b := range []*float64{d.BearingDeg, d.CameraBearingDeg} {
		if b != nil {
			*b = float64(r.IntN(3600)-1799) / 10 // (-180, 180]
		}
	}
	d.LatencyNS = fixKeys(d.LatencyNS)
	if d.LatencyNS == nil {
		d.LatencyNS = map[string]int64{"capture_to_publish": 41134670}
	}
	return d
}

// fixKeys makes m's keys valid UTF-8, which JSON needs to carry them.
func fixKeys[V any](m map[string]V) map[string]V {
	if m == nil {
		return nil
	}
	out := make(map[string]V, len(m))
	for k, v := range m {
		out[strings.ToValidUTF8(k, "?")] = v
	}
	return out
}

// TestRoundTrip: Decode(Append(d)) is d, for the sample and random
// decisions.
func TestRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 5000 {
		d := validDecision(r)
		switch i {
		case 0:
			d = sampleDecision(7)
		case 1:
			d.Missing, d.Evidence, d.LatencyNS = nil, nil, nil // null
		}
		b, err := Append(nil, d)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Decode(b)
		if err != nil {
			t.Fatalf("%v: %s", err, b)
		}
		if !reflect.DeepEqual(got, d) {
			t.Fatalf("round trip of %s\ngot  %+v\nwant %+v", b, got, d)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(sample))
	for _, tc := range badDecisions {
		f.Add([]byte(tc.body))
	}
	f.Add([]byte(`{"schema":"fusiond.decision.v1"}`))
	f.Add([]byte(`{"schema":"fusiond.decision.v99999999999999999999","seq":1}`))
	f.Add([]byte(`{"schema":"fusiond.decision.v1","robot":"r","kind":"k","seq":1,"missing":null,"evidence":{"\xff":1e-7}}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := Decode(data)
		if (d == nil) == (err == nil) {
			t.Fatalf("decision %v and error %v", d, err)
		}
		if err != nil {
			if !errors.Is(err, ErrSchema) && !errors.Is(err, ErrMalformed) {
				t.Fatalf("unwrapped error %v", err)
			}
			return
		}
		// What decodes encodes as encoding/json would, and decodes to the
		// same decision.
		b, err := Append(nil, d)
		if err != nil {
			t.Fatal(err)
		}
		if want, _ := json.Marshal(d); !bytes.Equal(b, want) {
			t.Fatalf("Append %s\nencoding/json %s", b, want)
		}
		d2, err := Decode(b)
		if err != nil || !reflect.DeepEqual(d2, d) {
			t.Fatalf("round trip: %v\n%+v\n%+v", err, d, d2)
		}
	})
}
