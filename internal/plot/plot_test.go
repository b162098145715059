package plot

import (
	"bytes"
	"encoding/xml"
	"errors"
	"image"
	_ "image/png"
	"io"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestPlotFormatOf(t *testing.T) {
	for _, c := range []struct {
		path string
		want Format
		ok   bool
	}{
		{"a/timeline.svg", SVG, true}, {"t.PNG", PNG, true}, {"t.pdf", PDF, true},
		{"t.jpg", "", false}, {"timeline", "", false}, {"", "", false},
	} {
		f, err := FormatOf(c.path)
		if f != c.want || (err == nil) != c.ok {
			t.Errorf("FormatOf(%q) = %q, %v; want %q, ok %v", c.path, f, err, c.want, c.ok)
		}
	}
}

func TestPlotSeconds(t *testing.T) {
	for _, c := range []struct {
		t, origin int64
		want      float64
	}{
		{1_500_000_000, 0, 1.5},
		{1_700_000_000_000_000_123, 1_700_000_000_000_000_000, 123e-9}, // exact: no float64 rounding of the epoch
		{5, 5, 0},
		{math.MaxInt64, math.MinInt64, (float64(math.MaxInt64) - float64(math.MinInt64)) / 1e9}, // overflows int64
		{math.MinInt64, math.MaxInt64, -(float64(math.MaxInt64) - float64(math.MinInt64)) / 1e9},
	} {
		if got := Seconds(c.t, c.origin); got != c.want {
			t.Errorf("Seconds(%d, %d) = %g, want %g", c.t, c.origin, got, c.want)
		}
	}
}

func TestPlotNiceStep(t *testing.T) {
	for _, c := range []struct{ in, want float64 }{
		{0.3, 0.5}, {1, 1}, {1.1, 2}, {3, 5}, {7, 10}, {0.015, 0.02}, {1.8e9, 2e9},
		{0, 1}, {-3, 1}, {math.NaN(), 1}, {math.Inf(1), 1},
	} {
		if got := NiceStep(c.in); math.Abs(got-c.want) > 1e-12*c.want {
			t.Errorf("NiceStep(%g) = %g, want %g", c.in, got, c.want)
		}
	}
}

func TestPlotDenseTicks(t *testing.T) {
	var labels []string
	for _, tk := range denseTicks(4).Ticks(-0.1, 1.05) {
		labels = append(labels, tk.Label)
	}
	if want := []string{"0.0", "0.5", "1.0"}; !reflect.DeepEqual(labels, want) {
		t.Errorf("ticks = %v, want %v", labels, want)
	}
	if ts := denseTicks(10).Ticks(-1.8e10, 1.8e10); len(ts) == 0 || len(ts) > 21 || ts[0].Label != "-1.5e+10" {
		t.Errorf("extreme ticks = %v", ts)
	}
}

func TestPlotRuns(t *testing.T) {
	for _, c := range []struct {
		name string
		in   []int64
		want [][2]int64
	}{
		{"empty", nil, nil},
		{"one", []int64{5}, [][2]int64{{5, 5}}},
		{"two far apart", []int64{0, 1000}, [][2]int64{{0, 1000}}},
		{"a gap", []int64{0, 10, 20, 30, 100, 110}, [][2]int64{{0, 30}, {100, 110}}},
		{"unsorted", []int64{110, 0, 30, 20, 100, 10}, [][2]int64{{0, 30}, {100, 110}}},
		{"at 1.5 intervals is no gap", []int64{0, 10, 20, 35}, [][2]int64{{0, 35}}},
		{"all equal", []int64{7, 7, 7, 7}, [][2]int64{{7, 7}}},
		{"all equal then one", []int64{7, 7, 7, 8}, [][2]int64{{7, 7}, {8, 8}}},
		{"int64 extremes", []int64{math.MinInt64, -1, 1, math.MaxInt64}, [][2]int64{{math.MinInt64, math.MaxInt64}}},
	} {
		if got := Runs(c.in); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: Runs(%v) = %v, want %v", c.name, c.in, got, c.want)
		}
	}
}

func TestPlotBundleRuns(t *testing.T) {
	in := []Bundle{{0, false, false}, {10, false, false}, {20, true, false}, {30, true, false}, {40, true, true}, {50, false, false}}
	want := []BundleRun{{0, 20, false, false}, {20, 40, true, false}, {40, 50, true, true}, {50, 50, false, false}}
	if got := BundleRuns(in); !reflect.DeepEqual(got, want) {
		t.Errorf("BundleRuns = %v, want %v", got, want)
	}
	if got := BundleRuns(nil); got != nil {
		t.Errorf("BundleRuns(nil) = %v", got)
	}
}

func TestPlotStateSpans(t *testing.T) {
	a, u, i := Decision{Active: true}, Decision{Unknown: true}, Decision{}
	at := func(d Decision, ns int64) Decision { d.TimeNS = ns; return d }
	for _, c := range []struct {
		name string
		in   []Decision
		want []StateSpan
	}{
		{"none", nil, nil},
		{"inactive only", []Decision{at(i, 0), at(i, 1)}, nil},
		{"active to inactive", []Decision{at(a, 0), at(a, 1), at(i, 2), at(i, 3)}, []StateSpan{{0, 2, false}}},
		{"active, unknown, active", []Decision{at(a, 0), at(u, 1), at(u, 2), at(a, 3)}, []StateSpan{{0, 1, false}, {1, 3, true}, {3, 3, false}}},
		{"unknown wins over active", []Decision{at(Decision{Active: true, Unknown: true}, 5)}, []StateSpan{{5, 5, true}}},
		{"NaN confidence keeps its state", []Decision{{TimeNS: 0, Confidence: math.NaN(), Active: true}, at(i, 4)}, []StateSpan{{0, 4, false}}},
	} {
		if got := StateSpans(c.in); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: StateSpans = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestPlotCDF(t *testing.T) {
	for _, c := range []struct {
		name   string
		in     []float64
		cut    float64
		wx, wy []float64
	}{
		{"none", nil, 10, nil, nil},
		{"sorted into steps", []float64{3, 1, 2, 4}, 10, []float64{1, 2, 3, 4}, []float64{0.25, 0.5, 0.75, 1}},
		{"past the cut stops below 1", []float64{1, 2, 30, 40}, 20, []float64{1, 2, 20}, []float64{0.25, 0.5, 0.5}},
		{"all past the cut", []float64{30}, 20, []float64{20}, []float64{0}},
		{"non-finite left out", []float64{math.NaN(), 1, math.Inf(1)}, 10, []float64{1}, []float64{1}},
	} {
		x, y := CDF(c.in, c.cut)
		if !reflect.DeepEqual(x, c.wx) || !reflect.DeepEqual(y, c.wy) {
			t.Errorf("%s: CDF = %v %v, want %v %v", c.name, x, y, c.wx, c.wy)
		}
	}
}

// TestCDFThinned: 1000 equal values rise in steps of 1/400, not 1/1000.
func TestPlotCDFThinned(t *testing.T) {
	x, y := CDF(repeat(4, 1000), 10)
	if n := len(x); n != 334 || x[0] != 4 || y[0] != 0.001 || x[n-1] != 4 || y[n-1] != 1 {
		t.Errorf("CDF of 1000 equal values: %d points, first (%g, %g), last (%g, %g)", len(x), x[0], y[0], x[len(x)-1], y[len(y)-1])
	}
}

func TestPlotThin(t *testing.T) {
	x := []float64{0, 0.5, 1, 1.5, 3, 3.2, 3.3}
	y := []float64{0, 0, 0, 0, 0, 5, 5}
	tx, ty := thin(x, y, 1, 1)
	if wx, wy := []float64{0, 1, 3, 3.2, 3.3}, []float64{0, 0, 0, 5, 5}; !reflect.DeepEqual(tx, wx) || !reflect.DeepEqual(ty, wy) {
		t.Errorf("thin = %v %v, want %v %v", tx, ty, wx, wy)
	}
	if tx, ty := thin(nil, nil, 1, 1); tx != nil || ty != nil {
		t.Errorf("thin(nil) = %v %v", tx, ty)
	}
}

func repeat(v float64, n int) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = v
	}
	return s
}

// checkFormat checks that data decodes as format f.
func checkFormat(t *testing.T, f Format, data []byte) {
	t.Helper()
	switch f {
	case PNG:
		img, kind, err := image.Decode(bytes.NewReader(data))
		if err != nil || kind != "png" || img.Bounds().Dx() < 100 {
			t.Fatalf("png: %v (%s)", err, kind)
		}
	case SVG:
		d := xml.NewDecoder(bytes.NewReader(data))
		root := ""
		for {
			tok, err := d.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("svg: %v", err)
			}
			if se, ok := tok.(xml.StartElement); ok && root == "" {
				root = se.Name.Local
			}
		}
		if root != "svg" {
			t.Fatalf("svg: root element %q", root)
		}
	case PDF:
		if !bytes.HasPrefix(data, []byte("%PDF-")) || !bytes.Contains(data, []byte("%%EOF")) {
			t.Fatalf("pdf: starts %q", data[:min(len(data), 16)])
		}
	}
}

func sampleTimeline() *Timeline {
	const s = int64(time.Second)
	t0 := int64(1_700_000_000) * s
	cam := Stream{Name: "cam0 (video)"}
	for i := range int64(60) {
		if i < 20 || i > 30 { // a gap
			cam.CapturesNS = append(cam.CapturesNS, t0+i*s/30)
		}
	}
	cam.JumpsNS = []int64{t0 + 31*s/30}
	mic := Stream{Name: "mic0 (audio)"}
	for i := range int64(200) {
		mic.CapturesNS = append(mic.CapturesNS, t0+i*s/100)
	}
	tl := &Timeline{Streams: []Stream{cam, mic}, Drops: []DropCount{{t0, 0}, {t0 + s, 11}}}
	for i := range int64(60) {
		tl.Bundles = append(tl.Bundles, Bundle{TimeNS: t0 + i*s/30, MissingVideo: i >= 20 && i <= 30})
	}
	k := Kind{Name: "activity"}
	for i := range int64(8) {
		k.Decisions = append(k.Decisions, Decision{TimeNS: t0 + i*s/4, Confidence: float64(i) / 8, Active: i >= 4, Unknown: i == 2})
	}
	tl.Kinds = []Kind{k}
	return tl
}

// TestWriteFormats writes a timeline and a line figure in each format
// and decodes them.
func TestPlotWriteFormats(t *testing.T) {
	fig := Figure{Title: "Scaling", XLabel: "cameras", YLabel: "CPU (% of one core)", Points: true, LegendTopLeft: true,
		Series: []Series{{Name: "all pipelines", X: []float64{1, 2, 4}, Y: []float64{14, 27, 51}}, {Name: "per camera", X: []float64{1, 2, 4}, Y: []float64{14, 13.5, 12.8}}}}
	for _, f := range []Format{SVG, PNG, PDF} {
		var tb, fb bytes.Buffer
		if err := sampleTimeline().Write(&tb, f); err != nil {
			t.Fatalf("timeline %s: %v", f, err)
		}
		checkFormat(t, f, tb.Bytes())
		if err := fig.Write(&fb, f); err != nil {
			t.Fatalf("figure %s: %v", f, err)
		}
		checkFormat(t, f, fb.Bytes())
		if f == SVG {
			for _, want := range []string{"cam0 (video)", "mic0 (audio)", "bundles", "activity", "confidence", "drops (total)", "time from the first event (s)", "no video"} {
				if !strings.Contains(tb.String(), want) {
					t.Errorf("timeline.svg has no %q", want)
				}
			}
			for _, want := range []string{"Scaling", "cameras", "CPU (% of one core)", "all pipelines", "per camera"} {
				if !strings.Contains(fb.String(), want) {
					t.Errorf("figure svg has no %q", want)
				}
			}
		}
	}
}

func TestPlotFigureBadSeries(t *testing.T) {
	for _, s := range []Series{{Name: "short", X: []float64{1, 2}, Y: []float64{1}}, {Name: "nan", X: []float64{1}, Y: []float64{math.NaN()}}} {
		err := Figure{Series: []Series{s}}.Write(io.Discard, SVG)
		if err == nil || !strings.Contains(err.Error(), s.Name) {
			t.Errorf("series %q: err %v", s.Name, err)
		}
	}
	if err := (Figure{}).Write(io.Discard, "gif"); err == nil {
		t.Error("format gif: no error")
	}
}

// TestTimelineDegenerate: extreme and degenerate inputs return promptly
// with a clear error or a valid picture.
func TestPlotTimelineDegenerate(t *testing.T) {
	nan := math.NaN()
	extreme := []int64{math.MinInt64, math.MinInt64 + 1, -1, 1, math.MaxInt64}
	for _, c := range []struct {
		name    string
		tl      Timeline
		wantErr error
	}{
		{"empty", Timeline{}, errEmpty},
		{"streams without samples", Timeline{Streams: []Stream{{Name: "cam0"}}, Kinds: []Kind{{Name: "activity"}}}, errEmpty},
		{"int64 extremes", Timeline{
			Streams: []Stream{{Name: "cam0", CapturesNS: extreme, JumpsNS: extreme[1:3]}},
			Bundles: []Bundle{{math.MinInt64, true, false}, {math.MaxInt64, false, true}},
			Drops:   []DropCount{{math.MinInt64, 0}, {math.MaxInt64, math.MaxUint64}},
			Kinds: []Kind{{Name: "activity", Decisions: []Decision{
				{math.MaxInt64, 0.5, true, false}, {math.MinInt64, 1, false, true}, {0, 0, false, false}}}},
		}, nil},
		{"all times equal", Timeline{
			Streams: []Stream{{Name: "cam0", CapturesNS: []int64{7, 7, 7}}},
			Bundles: []Bundle{{7, false, false}, {7, true, true}},
			Drops:   []DropCount{{7, 0}},
			Kinds:   []Kind{{Name: "activity", Decisions: []Decision{{7, 0.5, true, false}, {7, 0.2, false, true}}}},
		}, nil},
		{"NaN and infinite confidences", Timeline{
			Kinds: []Kind{{Name: "activity", Decisions: []Decision{{0, nan, true, false}, {1e9, math.Inf(1), false, false}, {2e9, nan, false, true}}},
				{Name: "speaking", Decisions: []Decision{{0, nan, false, false}}}},
		}, nil},
		{"a 1 ns span with decisions far away", Timeline{
			Streams: []Stream{{Name: "cam0", CapturesNS: []int64{1e9, 1e9 + 1}}},
			Kinds:   []Kind{{Name: "activity", Decisions: []Decision{{0, 0, false, false}, {1e9, 1, true, false}, {3e18, 1, true, false}}}},
		}, nil},
	} {
		for _, f := range []Format{SVG, PNG, PDF} {
			done := make(chan struct{})
			var buf bytes.Buffer
			var err error
			go func() {
				defer close(done)
				err = c.tl.Write(&buf, f)
			}()
			select {
			case <-done:
			case <-time.After(30 * time.Second): // a hang guard, not a speed test
				t.Fatalf("%s %s: drawing does not end", c.name, f)
			}
			if c.wantErr != nil {
				if !errors.Is(err, c.wantErr) || !strings.Contains(err.Error(), "nothing to plot") {
					t.Errorf("%s %s: err %v, want %v", c.name, f, err, c.wantErr)
				}
				continue
			}
			if err != nil {
				t.Fatalf("%s %s: %v", c.name, f, err)
			}
			checkFormat(t, f, buf.Bytes())
		}
	}
}
