package decision

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
)

// TestEncoderKnowsEveryField fails when Decision gains, loses or renames
// a JSON field: Append must then be taught it.
func TestEncoderKnowsEveryField(t *testing.T) {
	var got []string
	rt := reflect.TypeFor[Decision]()
	for i := range rt.NumField() {
		if tag := rt.Field(i).Tag.Get("json"); tag != "-" {
			got = append(got, tag+":"+rt.Field(i).Type.String())
		}
	}
	want := []string{"schema:string", "robot:string", "kind:string", "camera,omitempty:string", "seq:uint64", "time_ns:int64", "confidence:float64",
		"logit:float64", "contributions:map[string]float64", "missing:[]string", "missing_streams,omitempty:[]string", "degraded:bool", "state:string",
		"bearing_deg,omitempty:*float64", "camera_bearing_deg,omitempty:*float64", "evidence:map[string]float64",
		"latency_ns:map[string]int64"}
	if !slices.Equal(got, want) {
		t.Fatalf("Decision's JSON fields are now\n%v\nteach Append (and the JSON Schema) the change", got)
	}
}

// sampleDecision is a realistic activity decision (the demo's fields).
func sampleDecision(seq uint64) *Decision {
	return &Decision{Schema: Schema, Robot: "bench", Kind: "activity", Seq: seq, TimeNS: 1795755638492620365 + int64(seq)*500e6,
		Confidence: 0.927, Logit: 2.54, Contributions: map[string]float64{"audio": 1.5, "prior": 0, "video": 1.04},
		Missing: []string{}, Degraded: false, State: StateActive,
		Evidence: map[string]float64{"audio_coverage": 1, "audio_level_dbfs": -30, "bundles": 15,
			"motion_energy": 0.51, "motion_x": 0.62, "motion_y": 0.48},
		LatencyNS: map[string]int64{"arrival_to_publish": 40924590, "arrival_to_sync": 23935, "capture_to_arrival": 210080,
			"capture_to_publish": 41134670, "fuse_to_publish": 130705, "sync_to_fuse": 40769950}}
}

func randFloat(r *rand.Rand) float64 {
	switch r.IntN(6) {
	case 0:
		return 0
	case 1:
		return r.NormFloat64()
	case 2:
		return r.NormFloat64() * 1e-9
	case 3:
		return r.NormFloat64() * 1e22
	case 4:
		return math.Float64frombits(r.Uint64() &^ (0x7ff << 52)) // subnormal-ish
	default:
		return float64(r.IntN(1000)) / 8
	}
}

func randString(r *rand.Rand) string {
	alphabet := []string{"a", "Z", "_", "-", "0", "é", "<", "&", "\"", "\\", "\n", "\u2028", "\xff", " ", "video", "audio"}
	var s string
	for range r.IntN(6) {
		s += alphabet[r.IntN(len(alphabet))]
	}
	return s
}

func randDecision(r *rand.Rand) *Decision {
	d := &Decision{Schema: Schema, Robot: randString(r), Kind: randString(r), Seq: r.Uint64(), TimeNS: r.Int64() - r.Int64(),
		Confidence: randFloat(r), Logit: randFloat(r), Degraded: r.IntN(2) == 0, State: randString(r)}
	if r.IntN(5) > 0 {
		d.Contributions = map[string]float64{}
		for range r.IntN(5) {
			d.Contributions[randString(r)] = randFloat(r)
		}
	}
	if r.IntN(5) > 0 {
		d.Evidence = map[string]float64{}
		for range r.IntN(8) {
			d.Evidence[randString(r)] = randFloat(r)
		}
	}
	if r.IntN(5) > 0 {
		d.Missing = []string{}
		for range r.IntN(3) {
			d.Missing = append(d.Missing, randString(r))
		}
	}
	if r.IntN(2) == 0 {
		d.Camera = randString(r)
	}
	if r.IntN(3) > 0 {
		d.MissingStreams = []string{}
		for range r.IntN(3) {
			d.MissingStreams = append(d.MissingStreams, randString(r))
		}
	}
	if r.IntN(2) == 0 {
		b := randFloat(r)
		d.BearingDeg = &b
	}
	if r.IntN(2) == 0 {
		b := randFloat(r)
		d.CameraBearingDeg = &b
	}
	if r.IntN(5) > 0 {
		d.LatencyNS = map[string]int64{}
		for range r.IntN(6) {
			d.LatencyNS[randString(r)] = r.Int64() - r.Int64()
		}
	}
	return d
}

// TestEncodeMatchesEncodingJSON: byte for byte what encoding/json gives,
// on the realistic decision and on random ones.
func TestEncodeMatchesEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	check := func(d *Decision) {
		t.Helper()
		want, werr := json.Marshal(d)
		got, gerr := Append(nil, d)
		if (werr == nil) != (gerr == nil) || !bytes.Equal(got, want) {
			t.Fatalf("encoding/json: %s (%v)\nAppend: %s (%v)", want, werr, got, gerr)
		}
	}
	check(sampleDecision(7))
	check(&Decision{})
	for range 20000 {
		check(randDecision(r))
	}
	nan := sampleDecision(1)
	nan.Evidence["x"] = math.NaN()
	if _, err := Append(nil, nan); err == nil {
		t.Fatal("NaN encoded")
	}
	inf := sampleDecision(1)
	b := math.Inf(1)
	inf.CameraBearingDeg = &b
	if _, err := Append(nil, inf); err == nil {
		t.Fatal("an infinite bearing encoded")
	}
}

func FuzzEncodeDecision(f *testing.F) {
	f.Add(uint64(1), uint64(2))
	f.Fuzz(func(t *testing.T, s1, s2 uint64) {
		d := randDecision(rand.New(rand.NewPCG(s1, s2)))
		want, werr := json.Marshal(d)
		got, gerr := Append(nil, d)
		if (werr == nil) != (gerr == nil) || !bytes.Equal(got, want) {
			t.Fatalf("encoding/json: %s\nAppend: %s", want, got)
		}
	})
}

func BenchmarkEncodeDecision(b *testing.B) {
	d := sampleDecision(7)
	b.Run("encoding-json", func(b *testing.B) {
		for b.Loop() {
			json.Marshal(d)
		}
	})
	b.Run("Append", func(b *testing.B) {
		buf := make([]byte, 0, 1024)
		for b.Loop() {
			buf, _ = Append(buf[:0], d)
		}
	})
}
