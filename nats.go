package fusiond

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/seed-4c364652/fusiond/configs"
	"github.com/seed-4c364652/fusiond/internal/redact"
	"github.com/seed-4c364652/fusiond/sinks"
)

// logConfig is the decision log's configuration from the nats: section.
func logConfig(cfg *configs.Config) sinks.LogConfig {
	js := cfg.NATS.JetStream
	return sinks.LogConfig{
		Robot: cfg.Robot, Stream: js.Stream, MaxAge: js.MaxAge, MaxBytes: js.MaxBytes,
		DiscardNew: js.Discard == "new", DuplicateWindow: js.DuplicateWindow,
		Compress: js.Compression == "s2", Replicas: js.Replicas,
	}
}

// loadSigner loads (or creates) the robot's decision signing key.
func loadSigner(cfg *configs.Config, log *slog.Logger) (*sinks.Signer, error) {
	path := cfg.NATS.Signing.KeyFile
	if path == "" {
		var err error
		if path, err = sinks.DefaultKeyFile(cfg.Robot); err != nil {
			return nil, err
		}
	}
	s, err := sinks.LoadOrCreateSigningKey(path)
	if err != nil {
		return nil, fmt.Errorf("nats.signing.key_file: %w", err)
	}
	log.Info("signing decisions", "public_key", s.PublicKey(), "key_file", path)
	return s, nil
}

// natsLink is the daemon's NATS connection and, when embedded, its server.
type natsLink struct {
	nc       *nats.Conn
	embedded *sinks.Embedded
	stats    *sinks.ConnStats
	log      *slog.Logger
	onUp     atomic.Pointer[func()] // after every reconnect (the outbox re-sends)
	closed   bool
}

func (l *natsLink) up(*nats.Conn) {
	if f := l.onUp.Load(); f != nil {
		(*f)()
	}
}

func (l *natsLink) report() sinks.NATSReport {
	r := sinks.NATSReport{Connected: l.nc.IsConnected(), Events: l.stats.Snapshot(), Server: l.nc.ConnectedUrlRedacted()}
	if l.embedded != nil {
		r.Server = "embedded"
		if u := l.embedded.URL(); u != "" {
			r.Server += " " + u
		}
	}
	return r
}

// close flushes and closes the connection, then shuts the embedded server
// down. Safe to call twice.
func (l *natsLink) close() { l.closeBy(context.Background()) }

// closeBy is close with the flush bounded by ctx too.
func (l *natsLink) closeBy(ctx context.Context) {
	if l.closed {
		return
	}
	l.closed = true
	flushClose(ctx, l.nc, l.log)
	if l.embedded != nil {
		l.embedded.Shutdown()
	}
}

// ConnectNATS connects to the server cfg names, or starts the embedded one
// and connects in-process, as a Daemon does. The returned function
// flushes and closes, in that order, then shuts an embedded server down.
// For programs beside a daemon (fusiond replay --publish, benchmarks).
func ConnectNATS(cfg configs.NATS, log *slog.Logger) (*nats.Conn, func(), error) {
	l, err := openNATS(cfg, log)
	if err != nil {
		return nil, nil, err
	}
	return l.nc, l.close, nil
}

// openNATS connects to the configured server, or starts the embedded one
// and connects in-process.
func openNATS(cfg configs.NATS, log *slog.Logger) (*natsLink, error) {
	l := &natsLink{stats: &sinks.ConnStats{}, log: log}
	if cfg.URL != "" {
		nc, err := sinks.ConnectExternal(sinks.ExternalConfig{
			URL: cfg.URL, User: cfg.User, Password: cfg.Password, Token: cfg.Token,
			NKeyFile: cfg.NKeyFile, CredsFile: cfg.CredsFile,
			CAFile: cfg.TLS.CAFile, CertFile: cfg.TLS.CertFile, KeyFile: cfg.TLS.KeyFile,
			PingInterval: cfg.PingInterval, ReconnectWait: cfg.ReconnectWait,
		}, log, l.stats, l.up)
		if err != nil {
			return nil, fmt.Errorf("nats.url %q: %w", redact.String(cfg.URL), err)
		}
		l.nc = nc
		return l, nil
	}
	ec := cfg.Embedded
	tlsCfg, err := sinks.ServerTLS(ec.TLS.CertFile, ec.TLS.KeyFile, ec.TLS.CAFile, ec.TLS.Verify)
	if err != nil {
		return nil, fmt.Errorf("nats.embedded.tls: %w", err)
	}
	users := make([]sinks.EmbeddedUser, len(ec.Users))
	for i, u := range ec.Users {
		users[i] = sinks.EmbeddedUser{Name: u.User, Password: u.Password, Role: sinks.Role(u.Role), PublishAllow: u.Publish, SubscribeAllow: u.Subscribe}
	}
	e, err := sinks.StartEmbedded(sinks.EmbeddedConfig{
		Listen: ec.Listen, StoreDir: ec.StoreDir, Log: log,
		MaxStore: ec.MaxStore, MaxMemory: ec.MaxMemory, SyncInterval: ec.SyncInterval, MaxPayload: ec.MaxPayload,
		Domain: ec.Domain, TLS: tlsCfg, Users: users, LeafRemotes: ec.Leaf.Remotes, LeafCredentials: ec.Leaf.Credentials,
		AnnounceInterval: ec.Leaf.AnnounceInterval,
	})
	if err != nil {
		if errors.Is(err, sinks.ErrListen) {
			return nil, fmt.Errorf("nats.embedded.listen: %w", err)
		}
		return nil, err
	}
	nc, err := e.Connect(sinks.ConnectOptions(log, l.stats, l.up)...)
	if err != nil {
		e.Shutdown()
		return nil, fmt.Errorf("embedded nats: %w", err)
	}
	l.nc, l.embedded = nc, e
	return l, nil
}

func flushClose(ctx context.Context, nc *nats.Conn, log *slog.Logger) {
	if nc.IsConnected() {
		fctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		if err := nc.FlushWithContext(fctx); err != nil {
			log.Warn("NATS flush at shutdown failed", "err", err)
		}
	} else if n, _ := nc.Buffered(); n > 0 {
		log.Error("NATS not connected at shutdown; buffered messages are lost", "bytes", n)
	}
	nc.Close()
}

// bootID tells this run's message ids from those of earlier runs.
func bootID() string { return strings.ToLower(rand.Text()[:10]) }
