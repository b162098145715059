package sinks

import (
	"context"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
	"go.uber.org/goleak"

	"github.com/seed-4c364652/fusiond/sinks/client"
)

// TestSigningKeyFile: created 0600 (directories 0700) on first use, the
// same key read back after, a key file others can read refused.
func TestSigningKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "r", "signing.nk")
	s1, err := LoadOrCreateSigningKey(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v: %v", st.Mode(), err)
	}
	if d, _ := os.Stat(filepath.Dir(path)); d.Mode().Perm() != 0o700 {
		t.Fatalf("key dir mode %v", d.Mode())
	}
	s2, err := LoadOrCreateSigningKey(path)
	if err != nil || s2.PublicKey() != s1.PublicKey() || s1.PublicKey()[0] != 'U' {
		t.Fatalf("reloaded %q, first %q: %v", s2.PublicKey(), s1.PublicKey(), err)
	}
	os.Chmod(path, 0o644)
	if _, err := LoadOrCreateSigningKey(path); !errors.Is(err, ErrKeyFile) {
		t.Fatalf("world-readable key accepted: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.nk")
	os.WriteFile(bad, []byte("SUxxxxnotaseed"), 0o600)
	if _, err := LoadOrCreateSigningKey(bad); !errors.Is(err, ErrKeyFile) {
		t.Fatalf("bad seed: %v", err)
	}
}

// TestSignedDecisionsVerify: decisions published by the daemon's sinks
// verify; one forged by another client (a changed payload, another key,
// no signature) is rejected by a verifying subscriber.
func TestSignedDecisionsVerify(t *testing.T) {
	defer goleak.VerifyNone(t)
	_, nc, done := startEmbeddedConn(t)
	defer done()
	signer, err := LoadOrCreateSigningKey(filepath.Join(t.TempDir(), "k.nk"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := client.NewVerifier(signer.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan client.Msg, 16)
	sub, err := client.Subscribe(nc, "r", func(m client.Msg) { got <- m }, client.WithVerifier(v))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	nc.Flush()

	ensure(t, nc, LogConfig{Robot: "r"})
	js, err := NewJetStreamSink(nc, "b", OutboxConfig{Signer: signer})
	if err != nil {
		t.Fatal(err)
	}
	write(t, js, testDecision("r", 1))
	closeSink(t, js)
	write(t, NewNATSSink(nc, "b").SignWith(signer), testDecision("r", 2))

	other, _ := nkeys.CreateUser()
	otherSigner, _ := NewSigner(other)
	real := decisionMsg(testDecision("r", 3), "b", []byte(`{"x":1}`))
	signer.Sign(real)
	tampered := &nats.Msg{Subject: real.Subject, Data: []byte(`{"x":2}`), Header: real.Header}
	moved := &nats.Msg{Subject: "fusion.r.decision.speech", Data: real.Data, Header: real.Header}
	foreign := decisionMsg(testDecision("r", 4), "b", []byte(`{"x":1}`))
	otherSigner.Sign(foreign)
	unsigned := decisionMsg(testDecision("r", 5), "b", []byte(`{"x":1}`))
	for _, m := range []*nats.Msg{tampered, moved, foreign, unsigned} {
		if err := nc.PublishMsg(m); err != nil {
			t.Fatal(err)
		}
	}
	want := []error{nil, nil, client.ErrForged, client.ErrForged, client.ErrForged, client.ErrUnsigned}
	for i, w := range want {
		select {
		case m := <-got:
			if w == nil && (m.Err != nil || !m.Verified || m.Decision == nil) || w != nil && (!errors.Is(m.Err, w) || m.Decision != nil) {
				t.Errorf("message %d: err %v verified %v, want %v", i, m.Err, m.Verified, w)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("message %d not received", i)
		}
	}
	// Replay from the log verifies too.
	rgot := make(chan client.Msg, 1)
	r, err := client.Replay(context.Background(), nc, "r", time.Time{}, func(m client.Msg) {
		select {
		case rgot <- m:
		default:
		}
	}, client.WithVerifier(v))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	if m := <-rgot; !m.Verified {
		t.Fatalf("replayed decision not verified: %v", m.Err)
	}
}

// TestSignatureKnownAnswer: the signature is ed25519 over subject, "\n"
// and payload: verifiable with nothing but the public key and the
// documented message (docs/SECURITY.md).
func TestSignatureKnownAnswer(t *testing.T) {
	seed := []byte("SUAFCY3V4JVMBGO6CHBCCZT2AVGJ7MFZYILF5MLCSJOTLNSMBJOZ2BSJDY")
	kp, err := nkeys.FromSeed(seed)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := NewSigner(kp)
	m := &nats.Msg{Subject: "fusion.r.decision.speech", Data: []byte(`{"seq":1}`)}
	s.Sign(m)
	sig := m.Header.Get(HeaderSignature)
	const wantSig = "b6oVngzOGDgZ87GfMaJJAw7ax8dLvmpUgySbq4rFeEB--3FJdf3mXvRKrcejRE3UEMgP2o9jhmydQKvcaLO1AA"
	if s.PublicKey() != "UABGXGG6QHWNN5PONLNDGFFIRMYEJNN2VAQZR27AVLCX63NDYMKDAFCL" || sig != wantSig {
		t.Fatalf("public key %s, signature %s", s.PublicKey(), sig)
	}
	kp2, _ := nkeys.FromSeed(seed)
	want, _ := kp2.Sign([]byte("fusion.r.decision.speech\n{\"seq\":1}"))
	v, _ := client.NewVerifier(s.PublicKey())
	if err := v.Verify(m.Subject, m.Header, m.Data); err != nil || len(sig) != 86 || sig != b64(want) {
		t.Fatalf("signature %q (%d chars), want %q: %v", sig, len(sig), b64(want), err)
	}
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
