package fusiond

import (
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/seed-4c364652/fusiond/configs"
	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/internal/testenv"
	"github.com/seed-4c364652/fusiond/sinks"
	"github.com/seed-4c364652/fusiond/sinks/client"
)

// controlFixture is the daemon's control plane with its real recorder
// (record.dir a temporary directory) on an embedded server.
type controlFixture struct {
	nc  *nats.Conn
	rec *recorder
}

func startControlFixture(t testing.TB) *controlFixture {
	t.Helper()
	cfg := testenv.Config(t, "record.dir="+t.TempDir())
	e, err := sinks.StartEmbedded(sinks.EmbeddedConfig{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Shutdown)
	nc, err := e.Connect()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	rec := newRecorder(cfg, av.NewRealClock(), slog.New(slog.DiscardHandler), "test")
	svc, err := sinks.StartControl(nc, sinks.ControlConfig{
		Robot: cfg.Robot, Version: "",
		Status:   func() any { return sinks.StatusReport{} },
		Config:   func() any { return configs.Redacted(cfg) },
		Sources:  func() any { return []sinks.SourceHealth{} },
		Recorder: rec,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		svc.Stop()
		if rec.recording() {
			rec.stop()
		}
	})
	return &controlFixture{nc: nc, rec: rec}
}

// ask sends body to endpoint and returns the answer's error code ("" for
// success).
func (f *controlFixture) ask(t testing.TB, endpoint string, body []byte) string {
	t.Helper()
	m, err := f.nc.Request(client.ControlSubject("demo", endpoint), body, 10*time.Second)
	if err != nil {
		t.Fatalf("%s %q: no answer: %v", endpoint, body, err)
	}
	return m.Header.Get(micro.ErrorCodeHeader)
}

// TestControlClientErrors: the client's mistakes come back 400-class,
// not 500.
func TestControlClientErrors(t *testing.T) {
	f := startControlFixture(t)
	for _, tc := range []struct {
		endpoint, body, code string
	}{
		{"record.stop", "", "409"},   // not recording
		{"record.start", "{", "400"}, // not JSON
		{"record.start", `{"path": 5}`, "400"},
		{"record.start", "", ""},
		{"record.start", "", "409"}, // already recording
		{"record.stop", "", ""},
		{"status", "anything", ""},
	} {
		if got := f.ask(t, tc.endpoint, []byte(tc.body)); got != tc.code {
			t.Errorf("%s %q: code %q, want %q", tc.endpoint, tc.body, got, tc.code)
		}
	}
}

// FuzzControlPlane sends any body to every control-plane endpoint: each
// answers (no panic, no hang), never with 500 for a request alone, and
// record.start never writes outside record.dir.
func FuzzControlPlane(f *testing.F) {
	for _, s := range []string{"", "{}", "{", "null", `{"path":"a.mcap"}`, `{"path":""}`, `{"path":5}`, "[]", `{"path":"x","extra":1}`} {
		for ep := range 5 {
			f.Add(uint8(ep), []byte(s))
		}
	}
	fx := startControlFixture(f)
	endpoints := []string{"status", "config", "sources", "record.start", "record.stop"}
	f.Fuzz(func(t *testing.T, ep uint8, body []byte) {
		endpoint := endpoints[int(ep)%len(endpoints)]
		code := fx.ask(t, endpoint, body)
		if code == "500" {
			t.Fatalf("%s %q: 500", endpoint, body)
		}
		if fx.rec.recording() {
			fx.rec.stop()
		}
	})
}
