package sinks

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"

	"github.com/seed-4c364652/fusiond/ingest/av/avtest"
	"github.com/seed-4c364652/fusiond/sinks/client"
)

// violations collects a connection's async permission errors.
type violations struct {
	mu   sync.Mutex
	errs []string
}

func (v *violations) handler(_ *nats.Conn, _ *nats.Subscription, err error) {
	v.mu.Lock()
	v.errs = append(v.errs, err.Error())
	v.mu.Unlock()
}

func (v *violations) has(subject string) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, e := range v.errs {
		if strings.Contains(e, "Permissions Violation") && strings.Contains(e, subject) {
			return true
		}
	}
	return false
}

// roleServer is an embedded server with the daemon's own connection, a
// decision log holding one decision, and a control plane with a recorder.
type roleServer struct {
	e   *Embedded
	own *nats.Conn
	rec *fakeRecorder
}

func startRoleServer(t *testing.T, users []EmbeddedUser) *roleServer {
	t.Helper()
	e, err := StartEmbedded(EmbeddedConfig{Listen: "127.0.0.1:0", Users: users})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Shutdown)
	own, err := e.Connect()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(own.Close)
	ensure(t, own, LogConfig{Robot: "r"})
	s, err := NewJetStreamSink(own, "b", OutboxConfig{})
	if err != nil {
		t.Fatal(err)
	}
	write(t, s, testDecision("r", 1))
	closeSink(t, s)
	rec := &fakeRecorder{}
	svc, err := StartControl(own, ControlConfig{Robot: "r", Recorder: rec,
		Status: func() any { return "ok" }, Config: func() any { return "c" }, Sources: func() any { return "s" }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Stop() })
	return &roleServer{e: e, own: own, rec: rec}
}

func (rs *roleServer) stored(t *testing.T) uint64 {
	t.Helper()
	js, _ := jetstream.New(rs.own)
	s, err := js.Stream(context.Background(), "FUSIOND_r")
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

func (rs *roleServer) connect(t *testing.T, v *violations, opts ...nats.Option) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(rs.e.URL(), append(opts, nats.ErrorHandler(v.handler))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// TestReaderIsReadOnly: a client without credentials (a reader) can tail
// the decision log and ask status, sources and config; it cannot publish
// a decision or a status, purge, delete or update the log, or start a
// recording, not even through a consumer delivering to another subject.
func TestReaderIsReadOnly(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	rs := startRoleServer(t, nil)
	v := &violations{}
	nc := rs.connect(t, v)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// Tail: live and from the log.
	got := make(chan client.Msg, 4)
	r, err := client.Replay(ctx, nc, "r", time.Time{}, func(m client.Msg) { got <- m })
	if err != nil {
		t.Fatalf("reader cannot replay the log: %v", err)
	}
	select {
	case m := <-got:
		if m.Err != nil || m.Decision.Seq != 1 {
			t.Fatalf("replayed %+v", m)
		}
	case <-ctx.Done():
		t.Fatal("nothing replayed")
	}
	r.Stop()
	for _, ep := range []string{"status", "sources", "config"} {
		var s string
		if err := Request(nc, "r", ep, nil, &s, 5*time.Second); err != nil {
			t.Errorf("reader: ctl.%s: %v", ep, err)
		}
	}

	// Forging a decision or a status.
	for _, subj := range []string{"fusion.r.decision.speech", "fusion.r.status"} {
		if err := nc.Publish(subj, []byte(`{"forged":true}`)); err != nil {
			t.Fatal(err)
		}
		nc.Flush()
		avtest.Poll(t, "the violation on "+subj, func() bool { return v.has(subj) })
	}
	if n := rs.stored(t); n != 1 {
		t.Fatalf("log holds %d decisions after a forged publish", n)
	}

	// Administering the log.
	js, _ := jetstream.New(nc)
	short := func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.Background(), 500*time.Millisecond)
	}
	c1, cancel1 := short()
	defer cancel1()
	if err := js.DeleteStream(c1, "FUSIOND_r"); err == nil {
		t.Fatal("reader deleted the log")
	}
	c2, cancel2 := short()
	defer cancel2()
	if _, err := js.UpdateStream(c2, jetstream.StreamConfig{Name: "FUSIOND_r", Subjects: []string{"fusion.r.decision.>"}, MaxMsgs: 1}); err == nil {
		t.Fatal("reader updated the log")
	}
	if err := nc.Publish("$JS.API.STREAM.PURGE.FUSIOND_r", nil); err != nil {
		t.Fatal(err)
	}
	nc.Flush()
	avtest.Poll(t, "the purge violation", func() bool { return v.has("$JS.API.STREAM.PURGE.FUSIOND_r") })
	if n := rs.stored(t); n != 1 {
		t.Fatalf("log holds %d decisions after a purge by a reader", n)
	}

	// Recording.
	var out any
	if err := Request(nc, "r", "record.start", []byte(`{}`), &out, 300*time.Millisecond); err == nil {
		t.Fatal("reader started a recording")
	}
	// A push consumer delivering the log (and idle heartbeats, without a
	// reply subject) onto record.start: the server publishes for the
	// consumer, so permissions do not stop it; the control plane ignores
	// what no client asked.
	c3, cancel3 := short()
	defer cancel3()
	if _, err := js.CreateOrUpdatePushConsumer(c3, "FUSIOND_r", jetstream.ConsumerConfig{
		DeliverSubject: "fusion.r.ctl.record.start", DeliverGroup: "fusiond-r",
		AckPolicy: jetstream.AckNonePolicy, IdleHeartbeat: 100 * time.Millisecond}); err != nil {
		t.Fatalf("push consumer: %v", err)
	}
	// And onto the JetStream API, to purge.
	c4, cancel4 := short()
	defer cancel4()
	if _, err := js.CreateOrUpdatePushConsumer(c4, "FUSIOND_r", jetstream.ConsumerConfig{
		DeliverSubject: "$JS.API.STREAM.PURGE.FUSIOND_r", AckPolicy: jetstream.AckNonePolicy}); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		t.Logf("push consumer onto the API: %v", err)
	}
	// Give the deliveries time to land (no event to wait on: nothing must
	// happen), then check nothing did.
	time.Sleep(300 * time.Millisecond)
	if n := rs.rec.started.Load(); n != 0 {
		t.Fatalf("reader started %d recordings", n)
	}
	if n := rs.stored(t); n != 1 {
		t.Fatalf("log holds %d decisions after a consumer delivered onto the API", n)
	}
}

// TestRoles: an operator may record; an admin may purge; a reader with a
// password is still a reader.
func TestRoles(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	rs := startRoleServer(t, []EmbeddedUser{
		{Name: "rd", Password: "p1"},
		{Name: "op", Password: "p2", Role: RoleOperator},
		{Name: "ad", Password: "p3", Role: RoleAdmin},
	})
	var out any
	if _, err := nats.Connect(rs.e.URL(), nats.Timeout(time.Second)); err == nil {
		t.Fatal("anonymous client accepted with users configured")
	}
	for _, tc := range []struct {
		user, pw      string
		record, purge bool
	}{{"rd", "p1", false, false}, {"op", "p2", true, false}, {"ad", "p3", true, true}} {
		v := &violations{}
		nc := rs.connect(t, v, nats.UserInfo(tc.user, tc.pw))
		before := rs.rec.started.Load()
		err := Request(nc, "r", "record.start", []byte(`{}`), &out, 500*time.Millisecond)
		if (err == nil) != tc.record || (rs.rec.started.Load() > before) != tc.record {
			t.Errorf("%s: record.start: %v", tc.user, err)
		}
		js, _ := jetstream.New(nc)
		s, err := js.Stream(context.Background(), "FUSIOND_r")
		if err != nil {
			t.Fatalf("%s: stream info: %v", tc.user, err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		err = s.Purge(ctx)
		cancel()
		if (err == nil) != tc.purge {
			t.Errorf("%s: purge: %v", tc.user, err)
		}
	}
}

func TestParseRole(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Role
		ok   bool
	}{{"", RoleReader, true}, {"reader", RoleReader, true}, {"operator", RoleOperator, true}, {"admin", RoleAdmin, true}, {"root", "", false}} {
		got, err := ParseRole(tc.in)
		if got != tc.want || (err == nil) != tc.ok {
			t.Errorf("%q: %q %v", tc.in, got, err)
		}
	}
}

// TestPlaintextWarningOnlyForOperatorPasswords: nats-server's plaintext
// password warning reaches the log when the config holds a plaintext
// password, and not for fusiond's own random per-start passwords.
func TestPlaintextWarningOnlyForOperatorPasswords(t *testing.T) {
	for _, tc := range []struct {
		name  string
		users []EmbeddedUser
		warn  bool
	}{
		{"no users", nil, false},
		{"bcrypt", []EmbeddedUser{{Name: "op", Password: "$2a$11$qnCPvCl/9S1mPm1XpBlVQeICuSIQ7vzqEG6Qc6a1C1yHNE.Zz0Kbi", Role: RoleOperator}}, false},
		{"plaintext", []EmbeddedUser{{Name: "op", Password: "s3cret-s3cret", Role: RoleOperator}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logs := &avtest.LogBuffer{}
			e, err := StartEmbedded(EmbeddedConfig{Users: tc.users, Log: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))})
			if err != nil {
				t.Fatal(err)
			}
			e.Shutdown()
			if got := strings.Contains(logs.String(), "Plaintext passwords detected"); got != tc.warn {
				t.Fatalf("warning logged %v, want %v:\n%s", got, tc.warn, logs)
			}
		})
	}
}
