package evaluate

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestParseLabelsErrorsNameFileAndLine(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"1\t3\tspeech\n2\t4\tspeech\n", "x.txt:2: speech 2–4 s overlaps line 1 (1–3 s)"},
		{"1\tx\tspeech\n", `x.txt:1: end "x" is not a finite number`},
		{"1\tNaN\tspeech\n", `x.txt:1: end "NaN" is not a finite number`},
		{"\n\n1\t2\tshout\n", `x.txt:3: unknown label "shout"`},
		{"3\t2\tspeech\n", "x.txt:1: end 2 s is before start 3 s"},
		{"-1\t2\tspeech\n", "x.txt:1: start -1 s is negative"},
		{"2\t2\tspeech\n", "x.txt:1: 2–2 s is empty"},
		{"1 2 speech\n", "x.txt:1: want start<TAB>end<TAB>label"},
		{"1\t2\n", "x.txt:1: want start<TAB>end<TAB>label"},
		{"1\t2\tspeaker:left\n", `x.txt:1: label "speaker:left": bearing "left" is not a number`},
		{"1\t2\tspeaker:200\n", `x.txt:1: label "speaker:200": bearing "200" is not a number of degrees within ±180`},
		{"1\t2\tspeaker:\n", `x.txt:1: label "speaker:": bearing`},
		{"1\t2\tspeech:10\n", `x.txt:1: label "speech:10": only speaker takes a bearing`},
		{"1\t2\tactivity\n", `x.txt:1: unknown label "activity"`},
	} {
		_, err := ParseLabels("x.txt", []byte(c.in))
		if !errors.Is(err, ErrLabels) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want an ErrLabels containing %q", c.in, err, c.want)
		}
	}
}

func TestParseLabelsAudacity(t *testing.T) {
	// As Audacity 3 exports a track with a spectral selection on the
	// second label, CRLF line ends and a byte-order mark.
	in := "\ufeff0.000000\t12.000000\tpresence\r\n" +
		"1.250000\t3.500000\tspeech\r\n\\\t100.000000\t3000.000000\r\n" +
		"3.500000\t5.000000\tspeech\r\n" + // touches the previous: allowed
		"1.250000\t3.500000\tspeaker:-20.5\r\n" +
		"4\t4.5\t speaker \r\n"
	ls, err := ParseLabels("a.txt", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []Label{
		{Kind: "presence", Start: 0, End: 12, Line: 1},
		{Kind: "speech", Start: 1.25, End: 3.5, Line: 2},
		{Kind: "speech", Start: 3.5, End: 5, Line: 4},
		{Kind: "speaker", Start: 1.25, End: 3.5, HasBearing: true, BearingDeg: -20.5, Line: 5},
		{Kind: "speaker", Start: 4, End: 4.5, Line: 6},
	}
	if len(ls.Segments) != len(want) {
		t.Fatalf("got %+v", ls.Segments)
	}
	for i, w := range want {
		if ls.Segments[i] != w {
			t.Errorf("segment %d: got %+v, want %+v", i, ls.Segments[i], w)
		}
	}
	if _, ok := ls.At("speech", 1, 1.5); !ok {
		t.Error("At: speech at 1–1.5 s not found")
	}
	if c := ls.Covered("speech", 0, 10); c != 0.375 {
		t.Errorf("Covered: got %v, want 0.375", c)
	}
	var b bytes.Buffer
	if err := WriteLabels(&b, ls); err != nil {
		t.Fatal(err)
	}
	wantOut := "0.000000\t12.000000\tpresence\n1.250000\t3.500000\tspeaker:-20.5\n1.250000\t3.500000\tspeech\n3.500000\t5.000000\tspeech\n4.000000\t4.500000\tspeaker\n"
	if b.String() != wantOut {
		t.Errorf("WriteLabels:\n%s\nwant\n%s", b.String(), wantOut)
	}
}

func TestParseLabelsEmpty(t *testing.T) {
	ls, err := ParseLabels("e.txt", nil)
	if err != nil || len(ls.Segments) != 0 {
		t.Fatalf("got %v, %v; want no segments", ls, err)
	}
}

func FuzzParseLabels(f *testing.F) {
	f.Add([]byte("1\t3\tspeech\n\\\t1\t2\n0\t9\tspeaker:-12.5\n"))
	f.Add([]byte("1\t3\tspeech\n2\t4\tspeech\n"))
	f.Add([]byte("0.5\t0.25\tmotion\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ls, err := ParseLabels("fuzz", data)
		if err != nil {
			if !errors.Is(err, ErrLabels) || !strings.Contains(err.Error(), "fuzz:") {
				t.Fatalf("error %v does not name the file", err)
			}
			return
		}
		for i, l := range ls.Segments {
			if !(l.Start >= 0 && l.End > l.Start) || l.HasBearing && !(l.BearingDeg >= -180 && l.BearingDeg <= 180) {
				t.Fatalf("accepted %+v", l)
			}
			for _, o := range ls.Segments[:i] {
				if o.Kind == l.Kind && l.Start < o.End && o.Start < l.End {
					t.Fatalf("accepted overlapping %+v and %+v", o, l)
				}
			}
		}
		// What is written parses back to the same segments.
		var b bytes.Buffer
		if err := WriteLabels(&b, ls); err != nil {
			t.Fatal(err)
		}
		back, err := ParseLabels("back", b.Bytes())
		if err != nil {
			// Six decimals can round two distinct times together: only
			// then may the written form be refused.
			if !strings.Contains(err.Error(), "empty") && !strings.Contains(err.Error(), "overlaps") {
				t.Fatalf("written labels do not parse: %v\n%s", err, b.String())
			}
			return
		}
		if len(back.Segments) != len(ls.Segments) {
			t.Fatalf("wrote %d segments, read %d", len(ls.Segments), len(back.Segments))
		}
	})
}
