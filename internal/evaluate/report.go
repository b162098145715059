package evaluate

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"slices"
)

// ReportSchema names the JSON shape of Report (docs/DECISIONS.md).
const ReportSchema = "fusiond.eval.v1"

// Configs are the configurations eval runs every input under, in report
// order: microphones only, cameras only, both.
var Configs = []string{"audio", "video", "fused"}

// Latency is the p50 and p95 (nearest rank) of latencies, in milliseconds;
// nil when there are none.
type Latency struct {
	N     int     `json:"n"`
	P50MS float64 `json:"p50_ms"`
	P95MS float64 `json:"p95_ms"`
}

// Row is one kind's score under one configuration over the runs of one
// variant. Times are seconds; ratios are nil where undefined (no claim of
// active, no labelled time).
type Row struct {
	Variant        string   `json:"variant"`
	Config         string   `json:"config"`
	Kind           string   `json:"kind"`
	Clips          int      `json:"clips"`
	CompositeClips int      `json:"composite_clips"`
	Precision      *float64 `json:"precision"`
	Recall         *float64 `json:"recall"`
	F1             *float64 `json:"f1"`
	// TPS, FPS, FNS and TNS: scored time by outcome, state known.
	TPS float64 `json:"tp_s"`
	FPS float64 `json:"fp_s"`
	FNS float64 `json:"fn_s"`
	TNS float64 `json:"tn_s"`
	// UnknownS: time in state unknown (no claim), scored or not; of it
	// UnknownLabelledS inside a scored label.
	UnknownS         float64 `json:"unknown_s"`
	UnknownLabelledS float64 `json:"unknown_labelled_s"`
	// ActiveFraction and UnknownFraction: of all the time of the runs,
	// scored or not.
	ActiveFraction  float64 `json:"active_fraction"`
	UnknownFraction float64 `json:"unknown_fraction"`
	DurationS       float64 `json:"duration_s"`
	// Labels scored; LabelsSkipped: labels of runs that cannot sense the
	// kind (its modality is missing).
	Labels        int      `json:"labels"`
	LabelsSkipped int      `json:"labels_skipped"`
	Onsets        int      `json:"onsets"`
	OnsetLatency  *Latency `json:"onset_latency"`
	Ends          int      `json:"ends"`
	EndLatency    *Latency `json:"end_latency"`
	// FlipsInLabels: changes of state inside the labels once the kind was
	// active in them; FlipsPerS: per second of labelled time (flicker).
	FlipsInLabels int     `json:"flips_in_labels"`
	FlipsPerS     float64 `json:"flips_per_s"`
	// BearingErrP50Deg: speaker only, on true-positive time with both
	// bearings.
	BearingErrP50Deg *float64 `json:"bearing_error_p50_deg,omitempty"`
}

// ClipKind is one kind's numbers in one run.
type ClipKind struct {
	Kind            string   `json:"kind"`
	Scored          bool     `json:"scored"`
	F1              *float64 `json:"f1"`
	ActiveFraction  float64  `json:"active_fraction"`
	UnknownFraction float64  `json:"unknown_fraction"`
}

// Clip is one run's summary.
type Clip struct {
	Clip      string     `json:"clip"`
	Variant   string     `json:"variant"`
	Config    string     `json:"config"`
	Composite bool       `json:"composite"`
	Audio     bool       `json:"audio"`
	Video     bool       `json:"video"`
	DurationS float64    `json:"duration_s"`
	Decisions int        `json:"decisions"`
	Kinds     []ClipKind `json:"kinds"`
}

// Report is what `fusiond eval` prints.
type Report struct {
	Schema       string  `json:"schema"`
	Model        string  `json:"model,omitempty"`
	Source       string  `json:"source,omitempty"`
	Split        string  `json:"split,omitempty"`
	StepMS       float64 `json:"step_ms"`
	OnsetGraceMS float64 `json:"onset_grace_ms"`
	Inputs       int     `json:"inputs"`
	Rows         []Row   `json:"rows"`
	Clips        []Clip  `json:"clips"`
}

// NewReport sums results into rows per variant, configuration and kind
// (sorted by variant, then Configs order, then Kinds order) and lists
// every run.
func NewReport(results []*Result) *Report {
	rep := &Report{Schema: ReportSchema, StepMS: StepNS / 1e6, OnsetGraceMS: OnsetGraceNS / 1e6, Rows: []Row{}, Clips: []Clip{}}
	type key struct{ variant, config, kind string }
	type acc struct {
		k                KindResult
		clips, composite int
		steps            int
	}
	sums := map[key]*acc{}
	inputs := map[string]bool{}
	for _, res := range results {
		r := res.Run
		variant := cmp.Or(r.Variant, "original")
		inputs[r.Clip+"\x00"+variant] = true
		decisions := 0
		for _, d := range r.Decisions {
			if slices.Contains(Kinds, d.Kind) {
				decisions++
			}
		}
		c := Clip{Clip: r.Clip, Variant: variant, Config: r.Config, Composite: r.Composite, Audio: r.Audio, Video: r.Video,
			DurationS: float64(res.Steps) * StepNS / 1e9, Decisions: decisions}
		for _, k := range res.Kinds {
			c.Kinds = append(c.Kinds, ClipKind{Kind: k.Kind, Scored: k.Scored, F1: f1(k.TP, k.FP, k.FN, k.Scored),
				ActiveFraction: frac(k.Active, k.Steps), UnknownFraction: frac(k.Unknown, k.Steps)})
			kk := key{variant, r.Config, k.Kind}
			a := sums[kk]
			if a == nil {
				a = &acc{k: KindResult{Kind: k.Kind}}
				sums[kk] = a
			}
			a.clips++
			if r.Composite {
				a.composite++
			}
			a.steps += k.Steps
			s := &a.k
			s.TP += k.TP
			s.FP += k.FP
			s.FN += k.FN
			s.TN += k.TN
			s.Unknown += k.Unknown
			s.UnknownLabelled += k.UnknownLabelled
			s.Active += k.Active
			s.Labels += k.Labels
			s.LabelsSkipped += k.LabelsSkipped
			s.Onsets += k.Onsets
			s.Ends += k.Ends
			s.Flips += k.Flips
			s.LabelledNS += k.LabelledNS
			s.OnsetsNS = append(s.OnsetsNS, k.OnsetsNS...)
			s.EndsNS = append(s.EndsNS, k.EndsNS...)
			s.BearingErrDeg = append(s.BearingErrDeg, k.BearingErrDeg...)
			s.Scored = s.Scored || k.Scored
		}
		rep.Clips = append(rep.Clips, c)
	}
	rep.Inputs = len(inputs)
	keys := make([]key, 0, len(sums))
	for k := range sums {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b key) int {
		return cmp.Or(cmp.Compare(a.variant, b.variant),
			cmp.Compare(slices.Index(Configs, a.config), slices.Index(Configs, b.config)), cmp.Compare(a.config, b.config),
			cmp.Compare(slices.Index(Kinds, a.kind), slices.Index(Kinds, b.kind)))
	})
	sec := func(steps int) float64 { return float64(steps) * StepNS / 1e9 }
	for _, kk := range keys {
		a := sums[kk]
		s := a.k
		row := Row{Variant: kk.variant, Config: kk.config, Kind: kk.kind, Clips: a.clips, CompositeClips: a.composite,
			TPS: sec(s.TP), FPS: sec(s.FP), FNS: sec(s.FN), TNS: sec(s.TN),
			UnknownS: sec(s.Unknown), UnknownLabelledS: sec(s.UnknownLabelled),
			ActiveFraction: frac(s.Active, a.steps), UnknownFraction: frac(s.Unknown, a.steps), DurationS: sec(a.steps),
			Labels: s.Labels, LabelsSkipped: s.LabelsSkipped, Onsets: s.Onsets, Ends: s.Ends,
			OnsetLatency: latency(s.OnsetsNS), EndLatency: latency(s.EndsNS), FlipsInLabels: s.Flips}
		if s.LabelledNS > 0 {
			row.FlipsPerS = float64(s.Flips) / (float64(s.LabelledNS) / 1e9)
		}
		if s.Scored {
			row.Precision = ratio(s.TP, s.TP+s.FP)
			row.Recall = ratio(s.TP, s.TP+s.FN)
			row.F1 = f1(s.TP, s.FP, s.FN, true)
		}
		if len(s.BearingErrDeg) > 0 {
			v := percentile(s.BearingErrDeg, 50)
			row.BearingErrP50Deg = &v
		}
		rep.Rows = append(rep.Rows, row)
	}
	return rep
}

func frac(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func ratio(a, b int) *float64 {
	if b == 0 {
		return nil
	}
	v := float64(a) / float64(b)
	return &v
}

// f1 is 2TP/(2TP+FP+FN); nil when not scored or with neither labels nor
// claims.
func f1(tp, fp, fn int, scored bool) *float64 {
	if !scored || tp+fp+fn == 0 {
		return nil
	}
	v := 2 * float64(tp) / float64(2*tp+fp+fn)
	return &v
}

func latency(ns []int64) *Latency {
	if len(ns) == 0 {
		return nil
	}
	ms := make([]float64, len(ns))
	for i, v := range ns {
		ms[i] = float64(v) / 1e6
	}
	return &Latency{N: len(ns), P50MS: percentile(ms, 50), P95MS: percentile(ms, 95)}
}

// percentile is the nearest-rank p-th percentile of x (not empty).
func percentile(x []float64, p float64) float64 {
	y := slices.Clone(x)
	slices.Sort(y)
	i := int(math.Ceil(p/100*float64(len(y)))) - 1
	return y[min(max(i, 0), len(y)-1)]
}

// Table writes the rows as a Markdown table, then each variant's active
// and unknown fractions.
func (rep *Report) Table(w io.Writer) {
	fmt.Fprintf(w, "%d inputs, %d runs; model %s; inputs from %s %s; %g ms steps\n\n", rep.Inputs, len(rep.Clips), cmp.Or(rep.Model, "as configured"), cmp.Or(rep.Source, "the command line"), rep.Split, rep.StepMS)
	fmt.Fprintln(w, "| variant | config | kind | precision | recall | F1 | unknown s | labels (skipped) | onset p50/p95 ms (n/segments) | end p50/p95 ms (n/segments) | flips/s in labels | active % | unknown % |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	opt := func(v *float64) string {
		if v == nil {
			return "–"
		}
		return fmt.Sprintf("%.3f", *v)
	}
	lat := func(l *Latency, of int) string {
		if l == nil {
			return fmt.Sprintf("– (0/%d)", of)
		}
		return fmt.Sprintf("%.0f/%.0f (%d/%d)", l.P50MS, l.P95MS, l.N, of)
	}
	for _, r := range rep.Rows {
		comp := ""
		if r.CompositeClips > 0 {
			comp = fmt.Sprintf(" (%d/%d composite)", r.CompositeClips, r.Clips)
		}
		fmt.Fprintf(w, "| %s%s | %s | %s | %s | %s | %s | %.1f | %d (%d) | %s | %s | %.2f | %.1f | %.1f |\n",
			r.Variant, comp, r.Config, r.Kind, opt(r.Precision), opt(r.Recall), opt(r.F1), r.UnknownS,
			r.Labels, r.LabelsSkipped, lat(r.OnsetLatency, r.Onsets), lat(r.EndLatency, r.Ends), r.FlipsPerS, 100*r.ActiveFraction, 100*r.UnknownFraction)
	}
}
