package sync

import (
	"bytes"
	"testing"
)

// arrivalOf gives a trace's messages arrival times: the latest timestamp
// seen so far plus a fixed transport delay.
func arrivalOf(tr *Trace) []int64 {
	out := make([]int64, len(tr.Events))
	var now int64
	for i, ev := range tr.Events {
		now = max(now, ev.TimeNS)
		out[i] = now + 2e6
	}
	return out
}

// TestApproxSyncWithoutIdleIsROS: with no stream idle, the sets are
// exactly ROS's (the golden files, which the peer wrote).
func TestApproxSyncWithoutIdleIsROS(t *testing.T) {
	for _, sc := range []string{"basic", "jitter", "drops", "rates4", "bursts"} {
		for _, wait := range []int64{0, 5e9} {
			tr, err := GenerateTrace(sc, 3, 3000)
			if err != nil {
				t.Fatal(err)
			}
			cfg := ApproxConfig{Streams: tr.Streams, QueueSize: 10, AgePenalty: 0.1}
			want := ourSets(t, tr, cfg)
			var got []byte
			s, err := NewApproxSync(ApproxSyncConfig{ApproxConfig: cfg, MaxWaitNS: wait}, func(set []Member, missing uint16) {
				if missing != 0 {
					t.Fatalf("%s: partial set with no stream idle", sc)
				}
				got = AppendSet(got, set)
			}, nil)
			if err != nil {
				t.Fatal(err)
			}
			arr := arrivalOf(tr)
			for i, ev := range tr.Events {
				s.Add(ev.Stream, Member{TimeNS: ev.TimeNS, ID: uint64(i)}, arr[i])
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("%s wait %d: %s", sc, wait, firstDiff(want, got))
			}
		}
	}
}

// TestApproxSyncStreamStops: the camera stops for 3 s of every 10; ROS
// emits nothing meanwhile, ApproxSync goes on with the camera missing and
// takes it back when it returns.
func TestApproxSyncStreamStops(t *testing.T) {
	tr, err := GenerateTrace("stop-resume", 1, 3000) // 30 Hz camera (0) + 50 Hz audio (1)
	if err != nil {
		t.Fatal(err)
	}
	const wait = 200e6
	type out struct {
		at      int64 // arrival time when emitted
		t       int64 // audio member's time
		missing uint16
	}
	var sets []out
	var now int64
	s, err := NewApproxSync(ApproxSyncConfig{ApproxConfig: ApproxConfig{Streams: 2, QueueSize: 10, AgePenalty: 0.1}, MaxWaitNS: wait},
		func(set []Member, missing uint16) { sets = append(sets, out{now, set[1].TimeNS, missing}) }, nil)
	if err != nil {
		t.Fatal(err)
	}
	arr := arrivalOf(tr)
	var lastCam int64
	var gaps [][2]int64
	for i, ev := range tr.Events {
		now = arr[i]
		if ev.Stream == 0 {
			if lastCam != 0 && ev.TimeNS-lastCam > 1e9 {
				gaps = append(gaps, [2]int64{lastCam, ev.TimeNS})
			}
			lastCam = ev.TimeNS
		}
		s.Add(ev.Stream, Member{TimeNS: ev.TimeNS, ID: uint64(i)}, arr[i])
	}
	if len(gaps) == 0 {
		t.Fatal("trace has no camera gap")
	}
	gapStart, gapEnd := gaps[0][0], gaps[0][1]
	inGap := func(t int64) bool {
		for _, g := range gaps {
			if t >= g[0] && t <= g[1]+wait {
				return true
			}
		}
		return false
	}
	var partial, fullAfter int
	var firstPartial int64
	for _, o := range sets {
		if o.missing == 1 {
			partial++
			if firstPartial == 0 {
				firstPartial = o.at
			}
			if !inGap(o.t) {
				t.Fatalf("partial set at %d outside the gaps %v", o.t, gaps)
			}
		} else if o.missing == 0 && o.t > gapEnd && o.t < gapEnd+wait+100e6 {
			fullAfter++
		}
	}
	if partial < 100 || firstPartial > gapStart+wait+50e6 {
		t.Fatalf("%d partial sets, the first at +%d ms", partial, (firstPartial-gapStart)/1e6)
	}
	if fullAfter == 0 {
		t.Fatal("no full sets soon after the camera came back")
	}
	if idle := s.Idle(); idle != 0 {
		t.Fatalf("idle %b at the end", idle)
	}
}

func TestApproxSyncAllStop(t *testing.T) {
	var partial int
	s, _ := NewApproxSync(ApproxSyncConfig{ApproxConfig: ApproxConfig{Streams: 3, QueueSize: 5}, MaxWaitNS: 100},
		func(set []Member, missing uint16) { partial++ }, nil)
	s.Add(0, Member{TimeNS: 10}, 10)
	s.Add(1, Member{TimeNS: 11}, 11)
	s.Advance(1000) // everything idle
	if s.Idle() != 0b111 {
		t.Fatalf("idle %b", s.Idle())
	}
	s.Add(2, Member{TimeNS: 2000}, 2000) // alone: goes out at once
	if partial != 1 {
		t.Fatalf("%d sets", partial)
	}
	s.Add(0, Member{TimeNS: 2001}, 2001)
	s.Add(2, Member{TimeNS: 2030}, 2030)
	s.Add(0, Member{TimeNS: 2031}, 2031)
	if all, p := s.Sets(); all != 2 || p != 2 {
		t.Fatalf("sets %d, partial %d", all, p)
	}
}

// FuzzApproxSync: no panic and every message accounted for exactly once.
func FuzzApproxSync(f *testing.F) {
	f.Add([]byte("0 100\n1 101\n0 200\n1 201\n2 5000\n"), uint8(3), uint16(50))
	f.Fuzz(func(t *testing.T, data []byte, queue uint8, wait uint16) {
		tr, err := ParseTrace(bytes.NewReader(data))
		if err != nil || tr.Streams < 2 {
			return
		}
		used := make([]bool, len(tr.Events))
		mark := func(id uint64) {
			if used[id] {
				t.Fatalf("message %d used twice", id)
			}
			used[id] = true
		}
		var pending uint64
		s, err := NewApproxSync(ApproxSyncConfig{ApproxConfig: ApproxConfig{Streams: tr.Streams, QueueSize: 1 + int(queue%16), AgePenalty: 0.1},
			MaxWaitNS: int64(wait)}, func(set []Member, missing uint16) {
			for i, m := range set {
				if missing&(1<<i) == 0 {
					mark(m.ID)
				}
			}
		}, func(_ int, m Member) { mark(m.ID) })
		if err != nil {
			t.Fatal(err)
		}
		for i, ev := range tr.Events {
			s.Add(ev.Stream, Member{TimeNS: ev.TimeNS, ID: uint64(i)}, ev.TimeNS)
		}
		if s.inner != nil {
			for j := range s.inner.n {
				pending += s.inner.Pending(j)
			}
		}
		var n uint64
		for _, u := range used {
			if u {
				n++
			}
		}
		if n+pending != uint64(len(tr.Events)) {
			t.Fatalf("%d used + %d pending != %d", n, pending, len(tr.Events))
		}
	})
}
