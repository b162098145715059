package sinks

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"

	"github.com/seed-4c364652/fusiond/ingest/av/avtest"
)

func walMsg(i int) *nats.Msg {
	d := testDecision("w", uint64(i))
	return decisionMsg(d, "boot", []byte(`{"seq":`+strconv.Itoa(i)+`}`))
}

// crash stops s as SIGKILL would: nothing acked is trimmed, nothing synced
// or removed, the files stay as they are.
func (s *JetStreamSink) crash() {
	close(s.quit)
	s.wg.Wait()
	s.sub.Unsubscribe()
	if s.wal != nil {
		s.wal.mu.Lock()
		if s.wal.f != nil {
			s.wal.f.Close()
		}
		s.wal.lock.Close()
		s.wal.mu.Unlock()
	}
}

// segments lists the outbox segment files in dir.
func segments(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "seg-*.wal"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// logIDs reads the whole stream: how many times each Nats-Msg-Id is stored.
func logIDs(t *testing.T, nc *nats.Conn, stream string) map[string]int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	js, _ := jetstream.New(nc)
	st, err := js.Stream(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	cons, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for range st.CachedInfo().State.Msgs {
		m, err := cons.Next(jetstream.FetchMaxWait(10 * time.Second))
		if err != nil {
			t.Fatal(err)
		}
		got[m.Headers().Get(nats.MsgIdHdr)]++
	}
	return got
}

// TestOutboxSurvivesCrashPastDuplicateWindow: a sink is killed with
// decisions acked (still in its outbox file) and decisions never acked
// (the server down); the next start, after the stream's duplicate window
// has passed, sends the unacked ones once and the acked ones not again.
func TestOutboxSurvivesCrashPastDuplicateWindow(t *testing.T) {
	defer goleak.VerifyNone(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	e, err := StartEmbedded(EmbeddedConfig{Listen: addr, StoreDir: t.TempDir(), Users: []EmbeddedUser{{Name: "robot", Password: "pw", Role: RoleAdmin}}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Shutdown()
	const window = 200 * time.Millisecond
	sc := LogConfig{Robot: "w"}.StreamConfig()
	sc.Duplicates = window // shorter than the daemon allows: the case the outbox must handle alone
	connect := func() *nats.Conn {
		nc, err := ConnectExternal(ExternalConfig{URL: "nats://" + addr, User: "robot", Password: "pw", ReconnectWait: 20 * time.Millisecond, PingInterval: time.Second},
			slog.New(slog.DiscardHandler), &ConnStats{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return nc
	}
	nc1 := connect()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	js, _ := jetstream.New(nc1)
	if _, err := js.CreateStream(ctx, sc); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	logs := &avtest.LogBuffer{}
	cfg := OutboxConfig{Capacity: 256, Window: 16, AckTimeout: 300 * time.Millisecond, Dir: dir, Stream: sc.Name,
		Log: slog.New(slog.NewTextHandler(logs, nil))}
	s1, err := NewJetStreamSink(nc1, "b1", cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 30; i++ {
		if err := write(t, s1, testDecision("w", uint64(i))); err != nil {
			t.Fatal(err)
		}
	}
	avtest.Poll(t, "30 acks", func() bool { return s1.Stats().Acked == 30 })
	e.Stop()
	avtest.Poll(t, "the disconnect", func() bool { return !nc1.IsConnected() })
	for i := 31; i <= 40; i++ {
		if err := write(t, s1, testDecision("w", uint64(i))); err != nil {
			t.Fatal(err)
		}
	}
	s1.crash()
	nc1.Close()
	if len(segments(t, dir)) == 0 {
		t.Fatal("no outbox file after the crash")
	}
	time.Sleep(3 * window) // the duplicate window passes: only the outbox's check can tell
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}

	nc2 := connect()
	defer nc2.Close()
	s2, err := NewJetStreamSink(nc2, "b2", cfg)
	if err != nil {
		t.Fatal(err)
	}
	if st := s2.Stats(); st.Recovered != 40 || st.Pending != 40 {
		t.Fatalf("read back %+v, want 40 (30 acked, 10 not)", st)
	}
	for i := 1; i <= 5; i++ {
		if err := write(t, s2, testDecision("w", uint64(i))); err != nil {
			t.Fatal(err)
		}
	}
	closeSink(t, s2)
	st := s2.Stats()
	if st.AlreadyStored != 30 || st.Acked != 15 {
		t.Fatalf("stats %+v: want 30 already stored, 15 acked", st)
	}
	got := logIDs(t, nc2, sc.Name)
	want := map[string]int{}
	for i := 1; i <= 40; i++ {
		want[MsgID("w", "b1", uint64(i))] = 1
	}
	for i := 1; i <= 5; i++ {
		want[MsgID("w", "b2", uint64(i))] = 1
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("log holds %v\nwant each of %d ids once", got, len(want))
	}
	if segs := segments(t, dir); len(segs) != 0 {
		t.Fatalf("outbox files left after every decision was acked: %v", segs)
	}
	if !strings.Contains(logs.String(), "already_stored=30") {
		t.Fatalf("logs:\n%s", logs)
	}
}

// writeSegment writes n records to a fresh outbox in dir and returns the
// segment's path and the offsets where records end.
func writeSegment(t *testing.T, dir string, n int) (string, []int64) {
	t.Helper()
	w, recs, err := openWAL(dir, 1<<20, slog.New(slog.DiscardHandler))
	if err != nil || len(recs) != 0 {
		t.Fatal(err, len(recs))
	}
	var ends []int64
	for i := 1; i <= n; i++ {
		if _, err := w.append(walMsg(i)); err != nil {
			t.Fatal(err)
		}
		ends = append(ends, w.size)
	}
	path := w.f.Name()
	if err := w.close(); err != nil {
		t.Fatal(err)
	}
	return path, ends
}

// TestOutboxTornTail: a record cut short (a power cut mid-append) or
// damaged is cut off with a warning; the records before it come back and
// the outbox goes on in a new segment.
func TestOutboxTornTail(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(b []byte, ends []int64) []byte
		want   int
	}{
		{"whole", func(b []byte, _ []int64) []byte { return b }, 3},
		{"cut 1 byte", func(b []byte, _ []int64) []byte { return b[:len(b)-1] }, 2},
		{"cut 4 bytes", func(b []byte, _ []int64) []byte { return b[:len(b)-4] }, 2},
		{"cut 8 bytes", func(b []byte, _ []int64) []byte { return b[:len(b)-8] }, 2},
		{"only the length", func(b []byte, e []int64) []byte { return b[:e[1]+4] }, 2},
		{"zeros after the last record", func(b []byte, _ []int64) []byte { return append(b, make([]byte, 100)...) }, 3},
		{"middle record flipped", func(b []byte, e []int64) []byte { b[e[0]+12] ^= 1; return b }, 1},
		{"length too large", func(b []byte, e []int64) []byte {
			binary.LittleEndian.PutUint32(b[e[1]:], 1<<31)
			return b
		}, 2},
		{"header only", func(b []byte, _ []int64) []byte { return b[:walHeaderLen] }, 0},
		{"half a header", func(b []byte, _ []int64) []byte { return b[:5] }, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path, ends := writeSegment(t, dir, 3)
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			b = tc.damage(b, ends)
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
			logs := &avtest.LogBuffer{}
			w, recs, err := openWAL(dir, 1<<20, slog.New(slog.NewTextHandler(logs, nil)))
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) != tc.want {
				t.Fatalf("%d records back, want %d", len(recs), tc.want)
			}
			for i, r := range recs {
				if want := walMsg(i + 1); r.msg.Subject != want.Subject || !bytes.Equal(r.msg.Data, want.Data) ||
					!reflect.DeepEqual(r.msg.Header, want.Header) {
					t.Fatalf("record %d: %+v, want %+v", i, r.msg, want)
				}
			}
			if tc.want > 0 {
				if fi, err := os.Stat(path); err != nil || fi.Size() != ends[tc.want-1] {
					t.Fatalf("segment not cut to its whole records: %v %v, want %d", fi.Size(), err, ends[tc.want-1])
				}
				if tc.want < 3 && !strings.Contains(logs.String(), "cut off") {
					t.Fatalf("no warning:\n%s", logs)
				}
			} else if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("empty segment kept: %v", err)
			}
			// Appends go on in a new segment; both come back next time.
			if _, err := w.append(walMsg(9)); err != nil {
				t.Fatal(err)
			}
			w.close()
			w, recs, err = openWAL(dir, 1<<20, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			defer w.close()
			if len(recs) != tc.want+1 || string(recs[tc.want].msg.Data) != `{"seq":9}` {
				t.Fatalf("after a new append: %d records", len(recs))
			}
		})
	}
}

// TestOutboxVersionAndLock: a segment of another version is refused, not
// overwritten; a second daemon on the same state directory is refused.
func TestOutboxVersionAndLock(t *testing.T) {
	dir := t.TempDir()
	w, _, err := openWAL(dir, 1<<20, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := openWAL(dir, 1<<20, slog.New(slog.DiscardHandler)); !errors.Is(err, ErrStateDirBusy) {
		t.Fatalf("second open: %v, want ErrStateDirBusy", err)
	}
	w.close()
	seg := filepath.Join(dir, segName(7))
	if err := os.WriteFile(seg, binary.LittleEndian.AppendUint32([]byte(walMagic), 2), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := openWAL(dir, 1<<20, slog.New(slog.DiscardHandler)); !errors.Is(err, ErrOutboxVersion) {
		t.Fatalf("version 2: %v, want ErrOutboxVersion", err)
	}
	if _, err := os.Stat(seg); err != nil {
		t.Fatalf("segment of another version removed: %v", err)
	}
}

// TestOutboxSegmentsRollAndGo: past SegmentBytes the outbox rolls to a new
// file, and a file goes once every record in it is acked.
func TestOutboxSegmentsRollAndGo(t *testing.T) {
	dir := t.TempDir()
	w, _, err := openWAL(dir, 512, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer w.close()
	var segs []uint64
	for i := 1; i <= 20; i++ {
		seg, err := w.append(walMsg(i))
		if err != nil {
			t.Fatal(err)
		}
		segs = append(segs, seg)
	}
	files := len(segments(t, dir))
	if files < 3 {
		t.Fatalf("%d segments for 20 records of 512 bytes each at most", files)
	}
	for _, seg := range segs[:len(segs)-1] {
		w.done(seg)
	}
	if n := len(segments(t, dir)); n != 1 {
		t.Fatalf("%d segments left with one record not acked, want 1", n)
	}
	if w.bytes() > 1024 {
		t.Fatalf("%d bytes counted for one segment", w.bytes())
	}
}

// TestFullOutboxWaitsOnlyUntilContext: with no server, a full outbox makes
// a write wait, but no longer than its context; Close is bounded too.
func TestFullOutboxWaitsOnlyUntilContext(t *testing.T) {
	defer goleak.VerifyNone(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	nc, err := ConnectExternal(ExternalConfig{URL: "nats://" + addr, ReconnectWait: 20 * time.Millisecond, PingInterval: time.Second},
		slog.New(slog.DiscardHandler), &ConnStats{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	dir := t.TempDir()
	s, err := NewJetStreamSink(nc, "b", OutboxConfig{Capacity: 2, Dir: dir, Stream: "FUSIOND_w"})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 2; i++ {
		if err := write(t, s, testDecision("w", uint64(i))); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	d := testDecision("w", 3)
	if err := s.WriteDecisionContext(ctx, d, []byte(`{}`)); !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "outbox full") {
		t.Fatalf("write to a full outbox: %v", err)
	}
	cctx, ccancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer ccancel()
	if err := s.Close(cctx); err == nil || !strings.Contains(err.Error(), "2 decisions not acked at shutdown, kept in") {
		t.Fatalf("close: %v", err)
	}
	_, recs, err := openWAL(dir, 1<<20, slog.New(slog.DiscardHandler))
	if err != nil || len(recs) != 2 {
		t.Fatalf("outbox file after close: %d records, %v", len(recs), err)
	}
}

// FuzzReadSegment: the outbox reader never panics, and what it reads back
// is exactly what encoding it again gives.
func FuzzReadSegment(f *testing.F) {
	seg := binary.LittleEndian.AppendUint32([]byte(walMagic), walVersion)
	for i := 1; i <= 3; i++ {
		seg = encodeRecord(seg, walMsg(i))
	}
	f.Add(seg)
	f.Add(seg[:len(seg)-3])
	f.Add(seg[:walHeaderLen+6])
	f.Add([]byte(walMagic))
	f.Add(binary.LittleEndian.AppendUint32([]byte(walMagic), 9))
	f.Fuzz(func(t *testing.T, b []byte) {
		msgs, good, err := readSegment(b)
		if err != nil {
			if !errors.Is(err, ErrOutboxVersion) {
				t.Fatalf("error %v", err)
			}
			return
		}
		if good > len(b) || good < 0 {
			t.Fatalf("good %d of %d bytes", good, len(b))
		}
		again := binary.LittleEndian.AppendUint32([]byte(walMagic), walVersion)
		for _, m := range msgs {
			again = encodeRecord(again, m)
		}
		back, n, err := readSegment(again)
		if err != nil || n != len(again) || len(back) != len(msgs) {
			t.Fatalf("re-encoded: %d of %d bytes, %d of %d records, %v", n, len(again), len(back), len(msgs), err)
		}
		for i := range msgs {
			if back[i].Subject != msgs[i].Subject || !bytes.Equal(back[i].Data, msgs[i].Data) || len(back[i].Header) != len(msgs[i].Header) {
				t.Fatalf("record %d changed: %+v → %+v", i, msgs[i], back[i])
			}
		}
	})
}
