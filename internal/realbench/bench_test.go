package realbench

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// segment is one label of an Audacity label file.
type segment struct {
	start, end float64
	kind       string
}

// readLabels reads an Audacity label file as scripts/make-real-bench.sh
// writes it: sorted by start, no overlaps within a kind, known kinds.
func readLabels(path string) ([]segment, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var segs []segment
	last := map[string]float64{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		p := strings.Split(sc.Text(), "\t")
		if len(p) != 3 {
			return nil, fmt.Errorf("%s:%d: want start<TAB>end<TAB>kind", path, n)
		}
		s, err1 := strconv.ParseFloat(p[0], 64)
		e, err2 := strconv.ParseFloat(p[1], 64)
		if err1 != nil || err2 != nil || s < 0 || e <= s {
			return nil, fmt.Errorf("%s:%d: bad interval %q %q", path, n, p[0], p[1])
		}
		if !slices.Contains([]string{"speech", "sound_event", "motion", "presence", "speaker"}, p[2]) {
			return nil, fmt.Errorf("%s:%d: unknown kind %q", path, n, p[2])
		}
		if len(segs) > 0 && s < segs[len(segs)-1].start {
			return nil, fmt.Errorf("%s:%d: not sorted by start", path, n)
		}
		if end, ok := last[p[2]]; ok && s <= end {
			return nil, fmt.Errorf("%s:%d: %s overlaps or touches the one before", path, n, p[2])
		}
		last[p[2]] = e
		segs = append(segs, segment{s, e, p[2]})
	}
	return segs, sc.Err()
}

func only(segs []segment, kind string) []segment {
	var out []segment
	for _, s := range segs {
		if s.kind == kind {
			out = append(out, s)
		}
	}
	return out
}

// TestBuiltBenchmark checks what scripts/make-real-bench.sh built, when it
// has been built (in REALBENCH_DIR, as for the script): the manifest, every
// label file, the rules each variant's labels follow, clip names unique
// across splits and the split by source recording.
func TestBuiltBenchmark(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..", ".cache", "realbench")
	if d := os.Getenv("REALBENCH_DIR"); d != "" {
		root = d
	}
	b, err := os.ReadFile(filepath.Join(root, "manifest.tsv"))
	if err != nil {
		t.Skip("benchmark not built (scripts/make-real-bench.sh):", err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if lines[0] != "split\tclip\tvariant\tmedia\tlabels\tcomposite\tsources" {
		t.Fatalf("manifest header %q", lines[0])
	}
	variants := []string{"original", "frozen", "noaudio", "tone", "mono", "shift500", "noise", "wav", "wav-mono"}
	labels := map[string]map[string][]segment{} // split/clip → variant → labels
	composite := map[string]bool{}
	splitOf := map[string]string{}   // source → split
	clipSplit := map[string]string{} // clip → split
	for i, l := range lines[1:] {
		c := strings.Split(l, "\t")
		if len(c) != 7 {
			t.Fatalf("manifest line %d: %d columns", i+2, len(c))
		}
		split, clip, variant, media, lab, comp, sources := c[0], c[1], c[2], c[3], c[4], c[5], c[6]
		if !slices.Contains([]string{"train", "validation", "test"}, split) || !slices.Contains(variants, variant) ||
			(comp != "yes" && comp != "no") {
			t.Fatalf("manifest line %d: %q", i+2, l)
		}
		if _, err := os.Stat(filepath.Join(root, media)); err != nil {
			t.Errorf("manifest line %d: %v", i+2, err)
		}
		segs, err := readLabels(filepath.Join(root, lab))
		if err != nil {
			t.Fatal(err)
		}
		if s, ok := clipSplit[clip]; ok && s != split {
			t.Errorf("clip %s is in both %s and %s", clip, s, split)
		}
		clipSplit[clip] = split
		key := split + "/" + clip
		if labels[key] == nil {
			labels[key] = map[string][]segment{}
		}
		labels[key][variant] = segs
		if variant == "original" {
			composite[key] = comp == "yes"
		}
		for _, src := range strings.Split(sources, ",") {
			if src == "opencv-doc:vtest.avi" { // one recording, cut apart by time (docs/DECISIONS.md)
				continue
			}
			if s, ok := splitOf[src]; ok && s != split {
				t.Errorf("%s is in both %s and %s", src, s, split)
			}
			splitOf[src] = split
		}
	}
	for key, v := range labels {
		if len(v) != len(variants) {
			t.Errorf("%s: %d variants, want %d", key, len(v), len(variants))
			continue
		}
		orig := v["original"]
		speech := only(orig, "speech")
		if len(speech) == 0 || len(only(orig, "motion")) != 1 || len(only(orig, "presence")) != 1 {
			t.Errorf("%s: original labels %v", key, orig)
		}
		if got := only(orig, "speaker"); composite[key] != (len(got) > 0) ||
			composite[key] && !slices.Equal(kinds(got, "speech"), speech) {
			t.Errorf("%s: speaker labels %v with speech %v (composite %v)", key, got, speech, composite[key])
		}
		for variant, none := range map[string][]string{
			"frozen": {"motion", "speaker"}, "tone": {"speech", "speaker", "sound_event"},
			"shift500": {"speaker"}, "wav": {"motion", "speaker"}, "wav-mono": {"motion", "speaker"},
		} {
			for _, k := range none {
				if got := only(v[variant], k); len(got) > 0 {
					t.Errorf("%s.%s: %s labels %v", key, variant, k, got)
				}
			}
		}
		for _, variant := range []string{"noaudio", "mono", "noise"} {
			if !slices.Equal(v[variant], orig) {
				t.Errorf("%s.%s: labels differ from the original's", key, variant)
			}
		}
		dur := only(orig, "motion")[0].end
		shifted := only(v["shift500"], "speech")
		for i, s := range speech {
			want := segment{s.start + 0.5, math.Min(s.end+0.5, dur), "speech"}
			if i >= len(shifted) || math.Abs(shifted[i].start-want.start) > 0.0015 || math.Abs(shifted[i].end-want.end) > 0.0015 {
				t.Errorf("%s.shift500: speech %v, want the original's 0.5 s later: %v", key, shifted, speech)
				break
			}
		}
	}
}

// kinds relabels segments, to compare two kinds' times.
func kinds(segs []segment, kind string) []segment {
	out := make([]segment, len(segs))
	for i, s := range segs {
		out[i] = segment{s.start, s.end, kind}
	}
	return out
}
