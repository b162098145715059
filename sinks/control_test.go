package sinks

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
	"github.com/seed-4c364652/fusiond/ingest/av/avtest"
	"go.uber.org/goleak"
)

type fakeRecorder struct{ started, stopped atomic.Int32 }

func (f *fakeRecorder) StartRecording(_ context.Context, req []byte) (any, error) {
	if string(req) == "bad" {
		return nil, errors.New("bad request")
	}
	f.started.Add(1)
	return map[string]string{"path": "x.mcap"}, nil
}

func (f *fakeRecorder) StopRecording(context.Context) (any, error) {
	f.stopped.Add(1)
	return map[string]int{"messages": 3}, nil
}

func TestControlPlane(t *testing.T) {
	defer goleak.VerifyNone(t)
	_, nc, done := startEmbeddedConn(t)
	defer done()
	for _, withRec := range []bool{false, true} {
		rec := &fakeRecorder{}
		cfg := ControlConfig{Robot: "r7", Version: "v1.2.3",
			Status:  func() any { return StatusReport{Status: Status{Backend: "cpu"}, UptimeNS: 5} },
			Config:  func() any { return map[string]any{"robot": "r7"} },
			Sources: func() any { return []SourceHealth{{Stream: "cam0", Healthy: true}} }}
		if withRec {
			cfg.Recorder = rec
		}
		svc, err := StartControl(nc, cfg)
		if err != nil {
			t.Fatal(err)
		}
		var st StatusReport
		if err := Request(nc, "r7", "status", nil, &st, 5*time.Second); err != nil || st.Backend != "cpu" || st.UptimeNS != 5 {
			t.Fatalf("status %+v: %v", st, err)
		}
		var conf map[string]any
		if err := Request(nc, "r7", "config", nil, &conf, 5*time.Second); err != nil || conf["robot"] != "r7" {
			t.Fatalf("config %v: %v", conf, err)
		}
		var src []SourceHealth
		if err := Request(nc, "r7", "sources", nil, &src, 5*time.Second); err != nil || len(src) != 1 || !src[0].Healthy {
			t.Fatalf("sources %v: %v", src, err)
		}
		m, err := nc.Request("$SRV.PING.fusiond", nil, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		var ping micro.Ping
		json.Unmarshal(m.Data, &ping)
		if ping.Name != "fusiond" || ping.Metadata["robot"] != "r7" || ping.Version != "1.2.3" {
			t.Fatalf("ping %s", m.Data)
		}
		m, err = nc.Request("$SRV.INFO.fusiond", nil, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		var info micro.Info
		json.Unmarshal(m.Data, &info)
		var v any
		recErr := Request(nc, "r7", "record.start", nil, &v, 300*time.Millisecond)
		if withRec {
			if len(info.Endpoints) != 5 || recErr != nil || rec.started.Load() != 1 {
				t.Fatalf("record.start: %v; %d endpoints", recErr, len(info.Endpoints))
			}
			if err := Request(nc, "r7", "record.start", []byte("bad"), &v, 5*time.Second); err == nil {
				t.Fatal("error not answered")
			}
			if err := Request(nc, "r7", "record.stop", nil, &v, 5*time.Second); err != nil || rec.stopped.Load() != 1 {
				t.Fatalf("record.stop: %v", err)
			}
		} else if len(info.Endpoints) != 3 || !errors.Is(recErr, nats.ErrNoResponders) {
			t.Fatalf("without a recorder: %d endpoints, record.start %v", len(info.Endpoints), recErr)
		}
		svc.Stop()
	}
}

// TestControlPlaneFlood: a flood of requests beyond an endpoint's queue is
// dropped and reported; the service keeps answering.
func TestControlPlaneFlood(t *testing.T) {
	defer goleak.VerifyNone(t)
	e, nc, done := startEmbeddedConn(t)
	defer done()
	gate := make(chan struct{})
	var once sync.Once
	open := func() { once.Do(func() { close(gate) }) }
	defer open()
	var asyncErrs atomic.Int32
	svc, err := StartControl(nc, ControlConfig{Robot: "r", PendingLimit: 100,
		Status:  func() any { <-gate; return "ok" },
		OnError: func(error) { asyncErrs.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Stop()

	flood, err := e.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer flood.Close()
	inbox := nats.NewInbox()
	for range 20000 {
		flood.PublishRequest("fusion.r.ctl.status", inbox, nil)
	}
	flood.Flush()
	avtest.Poll(t, "the flood to be reported", func() bool { return asyncErrs.Load() > 0 })
	// While the status endpoint is stuck and flooded, the service answers.
	for _, subj := range []string{"$SRV.PING.fusiond", "$SRV.STATS.fusiond", "fusion.r.ctl.config"} {
		if _, err := nc.Request(subj, nil, 5*time.Second); err != nil {
			t.Fatalf("%s during the flood: %v", subj, err)
		}
	}
	open()
	var s string
	avtest.Poll(t, "status after the flood", func() bool { return Request(nc, "r", "status", nil, &s, time.Second) == nil && s == "ok" })
	if svc.Stopped() {
		t.Fatal("the service stopped")
	}
}
