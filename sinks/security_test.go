package sinks

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/seed-4c364652/fusiond/ingest/av/avtest"
	"go.uber.org/goleak"
)

// testCerts makes a CA and a server certificate for 127.0.0.1, and returns
// the server's TLS config and the CA's PEM file.
func testCerts(t *testing.T) (*tls.Config, string) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "fusiond test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12}, caFile
}

// TestTLSRequiredOnTCP: TCP clients must use TLS; the daemon's in-process
// connection still works without it.
func TestTLSRequiredOnTCP(t *testing.T) {
	defer goleak.VerifyNone(t)
	tlsCfg, caFile := testCerts(t)
	e, err := StartEmbedded(EmbeddedConfig{Listen: "127.0.0.1:0", TLS: tlsCfg})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Shutdown()
	if _, err := nats.Connect("nats://"+e.Addr(), nats.Timeout(2*time.Second)); err == nil {
		t.Fatal("plain TCP connection accepted")
	}
	tc, err := ConnectExternal(ExternalConfig{URL: e.URL(), CAFile: caFile}, slog.New(slog.DiscardHandler), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	if !tc.IsConnected() || !tc.TLSRequired() {
		t.Fatal("TLS client not connected")
	}
	sub, _ := tc.SubscribeSync("fusion.r.decision.>")
	tc.Flush()

	nc, err := e.Connect()
	if err != nil {
		t.Fatalf("in-process: %v", err)
	}
	defer nc.Close()
	ensure(t, nc, LogConfig{Robot: "r"})
	s, err := NewJetStreamSink(nc, "b", OutboxConfig{})
	if err != nil {
		t.Fatal(err)
	}
	write(t, s, testDecision("r", 1))
	closeSink(t, s)
	if _, err := sub.NextMsg(5 * time.Second); err != nil {
		t.Fatalf("TLS subscriber: %v", err)
	}
}

// TestWrongCredentials: a wrong password is logged and counted, and the
// client keeps trying; the daemon's in-process user is unaffected.
func TestWrongCredentials(t *testing.T) {
	defer goleak.VerifyNone(t)
	e, err := StartEmbedded(EmbeddedConfig{Listen: "127.0.0.1:0", Users: []EmbeddedUser{{Name: "robot", Password: "right"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Shutdown()
	logs := &avtest.LogBuffer{}
	stats := &ConnStats{}
	nc, err := ConnectExternal(ExternalConfig{URL: e.URL(), User: "robot", Password: "wrong", ReconnectWait: 20 * time.Millisecond},
		slog.New(slog.NewTextHandler(logs, nil)), stats, nil)
	if err == nil {
		defer nc.Close()
		avtest.Poll(t, "the authorization error", func() bool { return strings.Contains(strings.ToLower(logs.String()), "authorization") })
		if nc.IsConnected() || stats.Errors.Load() == 0 || strings.Count(logs.String(), "refused the credentials") != 1 {
			t.Fatalf("connected %v, errors %d, logs %s", nc.IsConnected(), stats.Errors.Load(), logs)
		}
	} else if !strings.Contains(strings.ToLower(err.Error()), "authorization") {
		t.Fatalf("got %v", err)
	}
	good, err := ConnectExternal(ExternalConfig{URL: e.URL(), User: "robot", Password: "right"}, slog.New(slog.DiscardHandler), nil, nil)
	if err != nil || !good.IsConnected() {
		t.Fatalf("right password: %v", err)
	}
	good.Close()
	in, err := e.Connect()
	if err != nil {
		t.Fatalf("in-process with users set: %v", err)
	}
	in.Close()
	if _, err := ConnectExternal(ExternalConfig{URL: e.URL(), User: "a", Password: "b", Token: "c"}, slog.New(slog.DiscardHandler), nil, nil); err == nil {
		t.Fatal("two ways to authenticate accepted")
	}
}

// TestPermissionViolation: a user not allowed to publish decisions gets a
// logged, counted permissions error; the connection stays up and the
// decisions stay in the outbox, reported at close.
func TestPermissionViolation(t *testing.T) {
	defer goleak.VerifyNone(t)
	e, err := StartEmbedded(EmbeddedConfig{Listen: "127.0.0.1:0",
		Users: []EmbeddedUser{{Name: "viewer", Password: "pw", PublishAllow: []string{"fusion.r.status", "$JS.API.>"}}}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Shutdown()
	in, err := e.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	ensure(t, in, LogConfig{Robot: "r"})

	logs := &avtest.LogBuffer{}
	stats := &ConnStats{}
	nc, err := ConnectExternal(ExternalConfig{URL: e.URL(), User: "viewer", Password: "pw"}, slog.New(slog.NewTextHandler(logs, nil)), stats, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	s, err := NewJetStreamSink(nc, "b", OutboxConfig{AckTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	write(t, s, testDecision("r", 1))
	avtest.Poll(t, "the permissions error", func() bool { return stats.Errors.Load() > 0 })
	if !strings.Contains(logs.String(), "Permissions Violation") || !nc.IsConnected() {
		t.Fatalf("connected %v, logs %s", nc.IsConnected(), logs)
	}
	if err := nc.Publish("fusion.r.status", []byte("{}")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := s.Close(ctx); err == nil || !strings.Contains(err.Error(), "1 decisions not acked") {
		t.Fatalf("close: %v", err)
	}
	if !nc.IsConnected() {
		t.Fatal("connection closed by a permissions violation")
	}
}
