package sync

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseTrace(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     *Trace
		errPart  string
	}{
		{"header and comments", "# fusiond-trace v1\n0 10\n# note\n\n1 20\r\n2\t30 \n", &Trace{Streams: 3,
			Events: []TraceEvent{{0, 10}, {1, 20}, {2, 30}}}, ""},
		{"a stream that never starts", "0 1\n2 5\n", &Trace{Streams: 3, Events: []TraceEvent{{0, 1}, {2, 5}}}, ""},
		{"empty", "", &Trace{}, ""},
		{"negative time", "0 -5\n", nil, "line 1: want timestamp"},
		{"stream out of range", "0 1\n9 5\n", nil, "line 2: stream index \"9"},
		{"time out of ROS range", "0 4294967296000000000\n", nil, "out of range"},
		{"missing time", "0\n", nil, "line 1"},
		{"trailing junk", "0 5 x\n", nil, "trailing"},
		{"not a number", "a 5\n", nil, "want stream index"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseTrace(strings.NewReader(tc.in))
			if tc.errPart != "" {
				if err == nil || !errors.Is(err, ErrTrace) || !strings.Contains(err.Error(), tc.errPart) {
					t.Fatalf("err %v, want one containing %q", err, tc.errPart)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Streams != tc.want.Streams || len(got.Events) != len(tc.want.Events) ||
				(len(got.Events) > 0 && !reflect.DeepEqual(got.Events, tc.want.Events)) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestGenerateTrace(t *testing.T) {
	for _, name := range ScenarioNames() {
		t.Run(name, func(t *testing.T) {
			a, err := GenerateTrace(name, 5, 5000)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := GenerateTrace(name, 5, 5000)
			if !reflect.DeepEqual(a, b) {
				t.Fatal("same seed, different traces")
			}
			if len(a.Events) < 4000 || len(a.Events) > 5000 || a.Streams < 2 || a.Streams > 4 {
				t.Fatalf("%d events, %d streams", len(a.Events), a.Streams)
			}
			last := make([]int64, a.Streams)
			for i, ev := range a.Events {
				if ev.TimeNS < last[ev.Stream] {
					t.Fatalf("event %d: stream %d goes back in time", i, ev.Stream)
				}
				last[ev.Stream] = ev.TimeNS
			}
			var buf bytes.Buffer
			if _, err := a.WriteTo(&buf); err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(buf.String(), TraceHeader+"\n") {
				t.Fatal("no header")
			}
			c, err := ParseTrace(&buf)
			if err != nil || !reflect.DeepEqual(a, c) {
				t.Fatalf("round trip: %v", err)
			}
		})
	}
	if _, err := GenerateTrace("nope", 1, 10); err == nil {
		t.Fatal("unknown scenario accepted")
	}
}

// FuzzParseTrace: no panic; what parses writes back and parses the same.
func FuzzParseTrace(f *testing.F) {
	for _, s := range []string{"# fusiond-trace v1\n0 998537456\n1 1003000000\n", "0 1\n\n#x\n3 4294967295999999999\n", "1  2 \r\n", "0 -1", "99999999999999999999 1"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tr, err := ParseTrace(bytes.NewReader(data))
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if _, err := tr.WriteTo(&buf); err != nil {
			t.Fatal(err)
		}
		again, err := ParseTrace(&buf)
		if err != nil {
			t.Fatalf("written trace does not parse: %v", err)
		}
		if again.Streams != tr.Streams || len(again.Events) != len(tr.Events) {
			t.Fatalf("round trip changed the trace")
		}
		for i := range tr.Events {
			if again.Events[i] != tr.Events[i] {
				t.Fatalf("event %d changed", i)
			}
		}
	})
}
