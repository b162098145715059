package fusiond

import (
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/ingest/recording"
	"github.com/seed-4c364652/fusiond/internal/testenv"
)

// TestRecordingKeepsNoSecrets: a recording's metadata has the signing key
// and no secret.
func TestRecordingKeepsNoSecrets(t *testing.T) {
	cfg := testenv.Config(t, "nats.url=nats://robot:urlS3cretpw@10.9.9.9:4222", "nats.token=tok3nS3cret",
		"nats.embedded.listen=0.0.0.0:4999", "metrics.listen=0.0.0.0:9999")
	rec := newRecorder(cfg, av.NewRealClock(), slog.New(slog.DiscardHandler), "test")
	rec.signingKey = "UABGXGG6QHWNN5PONLNDGFFIRMYEJNN2VAQZR27AVLCX63NDYMKDAFCL"
	path := filepath.Join(t.TempDir(), "r.mcap")
	if err := rec.start(path); err != nil {
		t.Fatal(err)
	}
	if _, err := rec.stop(); err != nil {
		t.Fatal(err)
	}
	r, err := recording.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	md := r.Metadata()
	if md["signing_key"] != rec.signingKey || strings.Contains(md["config"], "urlS3cretpw") || strings.Contains(md["config"], "tok3nS3cret") {
		t.Fatalf("metadata %v", md)
	}
}
