package sync

import (
	"fmt"
	"testing"
)

func TestExact(t *testing.T) {
	for _, tc := range []struct {
		name    string
		streams int
		queue   int
		evs     []TraceEvent
		want    string
		dropped []uint64
	}{
		{"pairs", 2, 5, []TraceEvent{{0, 10}, {1, 10}, {0, 20}, {1, 20}}, "[[10 10] [20 20]]", []uint64{0, 0}},
		{"older incomplete timestamps go with a set", 2, 5, []TraceEvent{{0, 10}, {0, 20}, {1, 20}}, "[[20 20]]", []uint64{1, 0}},
		{"a repeated timestamp replaces", 2, 5, []TraceEvent{{0, 10}, {0, 10}, {1, 10}}, "[[10 10]]", []uint64{1, 0}},
		{"queue evicts the oldest", 2, 2, []TraceEvent{{0, 1}, {0, 2}, {0, 3}, {1, 1}, {1, 3}}, "[[3 3]]", []uint64{2, 1}},
		{"three streams", 3, 5, []TraceEvent{{2, 7}, {0, 7}, {1, 7}}, "[[7 7 7]]", []uint64{0, 0, 0}},
		{"a stream that never starts", 2, 3, []TraceEvent{{0, 1}, {0, 2}, {0, 3}, {0, 4}, {0, 5}}, "[]", []uint64{2, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var sets [][]int64
			x, err := NewExact(ExactConfig{Streams: tc.streams, QueueSize: tc.queue}, func(set []Member) {
				var s []int64
				for _, m := range set {
					s = append(s, m.TimeNS)
				}
				sets = append(sets, s)
			}, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, ev := range tc.evs {
				x.Add(ev.Stream, Member{TimeNS: ev.TimeNS})
			}
			if got := fmt.Sprint(sets); got != tc.want && !(len(sets) == 0 && tc.want == "[]") {
				t.Fatalf("sets %s, want %s", got, tc.want)
			}
			for i, d := range tc.dropped {
				if x.Dropped(i) != d {
					t.Fatalf("stream %d dropped %d, want %d", i, x.Dropped(i), d)
				}
			}
		})
	}
	if _, err := NewExact(ExactConfig{Streams: 1, QueueSize: 1}, nil, nil); err == nil {
		t.Fatal("one stream accepted")
	}
	if _, err := NewExact(ExactConfig{Streams: 2, QueueSize: 0}, nil, nil); err == nil {
		t.Fatal("queue 0 accepted")
	}
}
