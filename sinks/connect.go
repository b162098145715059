package sinks

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/seed-4c364652/fusiond/internal/redact"
)

// ExternalConfig says how to reach and authenticate to NATS servers that
// fusiond does not run.
type ExternalConfig struct {
	// URL is one or more server URLs, comma-separated.
	URL string
	// At most one way to authenticate: user and password, a token, an
	// nkey seed file, or a creds file (JWT and nkey).
	User, Password string
	Token          string
	NKeyFile       string
	CredsFile      string
	// TLS: a CA to trust (empty: the system's), and a client certificate
	// and key when the server asks for one.
	CAFile, CertFile, KeyFile string
	// PingInterval: how often the client checks the server is there
	// (default 5s); two missed pongs count as a disconnect.
	PingInterval time.Duration
	// ReconnectWait is the base wait between reconnect attempts (default
	// 1s), with up to 1s of jitter (TLS: 2s). Reconnects go on forever.
	ReconnectWait time.Duration
	// Name of the client connection (default "fusiond").
	Name string
}

// ConnStats counts a connection's events.
type ConnStats struct {
	Disconnects   atomic.Uint64
	Reconnects    atomic.Uint64
	Errors        atomic.Uint64 // async errors: permissions, auth, ...
	SlowConsumers atomic.Uint64
}

// Snapshot returns the counts as a map for status reports.
func (s *ConnStats) Snapshot() map[string]uint64 {
	return map[string]uint64{
		"disconnects": s.Disconnects.Load(), "reconnects": s.Reconnects.Load(),
		"errors": s.Errors.Load(), "slow_consumers": s.SlowConsumers.Load(),
	}
}

// ConnectOptions are the event handlers and retry settings fusiond's
// connections share: reconnect forever, log and count every event. onUp,
// if set, runs (on its own goroutine) after every connect and reconnect.
func ConnectOptions(log *slog.Logger, stats *ConnStats, onUp func(*nats.Conn)) []nats.Option {
	return connectOptions(log, stats, onUp, new(atomic.Bool))
}

func connectOptions(log *slog.Logger, stats *ConnStats, onUp func(*nats.Conn), failedOnce *atomic.Bool) []nats.Option {
	var lastAuth atomic.Pointer[string]
	up := func(c *nats.Conn) {
		if onUp != nil {
			go onUp(c)
		}
	}
	return []nats.Option{
		nats.MaxReconnects(-1),
		nats.ConnectHandler(func(c *nats.Conn) {
			if failedOnce.Load() {
				log.Info("NATS connected", "url", c.ConnectedUrlRedacted())
			}
			up(c)
		}),
		nats.ReconnectErrHandler(func(c *nats.Conn, err error) {
			if isAuthErr(err) {
				// A config error, not a server still booting: say so loudly
				// (once per distinct answer) and count it.
				stats.Errors.Add(1)
				failedOnce.Store(true)
				msg := err.Error()
				if old := lastAuth.Swap(&msg); old == nil || *old != msg {
					log.Error("NATS server refused the credentials; retrying", "err", err)
				}
				return
			}
			if !failedOnce.Swap(true) {
				log.Warn("NATS server not reachable yet; retrying in the background", "err", err)
			}
		}),
		nats.DisconnectErrHandler(func(c *nats.Conn, err error) {
			stats.Disconnects.Add(1)
			if err != nil {
				log.Warn("NATS disconnected; reconnecting", "err", err)
			}
		}),
		nats.ReconnectHandler(func(c *nats.Conn) {
			stats.Reconnects.Add(1)
			log.Info("NATS reconnected", "url", c.ConnectedUrlRedacted())
			up(c)
		}),
		nats.ErrorHandler(func(c *nats.Conn, s *nats.Subscription, err error) {
			if errors.Is(err, nats.ErrSlowConsumer) {
				stats.SlowConsumers.Add(1)
			} else {
				stats.Errors.Add(1)
			}
			subj := ""
			if s != nil {
				subj = s.Subject
			}
			log.Error("NATS error", "err", err, "subscription", subj)
		}),
	}
}

func isAuthErr(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, nats.ErrAuthorization) || errors.Is(err, nats.ErrAuthExpired) || errors.Is(err, nats.ErrAuthRevoked) {
		return true
	}
	return strings.Contains(strings.ToLower(err.Error()), "authorization")
}

// ConnectExternal connects to the NATS server(s) of cfg. Robots boot in any
// order: if no server is up yet, it returns a connection that keeps
// retrying in the background (publishes are buffered meanwhile), and says
// so once in the log. Bad TLS or auth files are errors.
func ConnectExternal(cfg ExternalConfig, log *slog.Logger, stats *ConnStats, onUp func(*nats.Conn)) (*nats.Conn, error) {
	if stats == nil {
		stats = &ConnStats{}
	}
	name := cfg.Name
	if name == "" {
		name = "fusiond"
	}
	ping := cfg.PingInterval
	if ping <= 0 {
		ping = 5 * time.Second
	}
	wait := cfg.ReconnectWait
	if wait <= 0 {
		wait = time.Second
	}
	opts := []nats.Option{
		nats.Name(name),
		nats.RetryOnFailedConnect(true),
		nats.ReconnectWait(wait),
		nats.ReconnectJitter(wait/2+time.Millisecond, wait+time.Millisecond),
		nats.PingInterval(ping),
		nats.MaxPingsOutstanding(2),
	}
	failedOnce := new(atomic.Bool)
	opts = append(opts, connectOptions(log, stats, onUp, failedOnce)...)
	auths := 0
	if cfg.User != "" || cfg.Password != "" {
		auths++
		opts = append(opts, nats.UserInfo(cfg.User, cfg.Password))
	}
	if cfg.Token != "" {
		auths++
		opts = append(opts, nats.Token(cfg.Token))
	}
	if cfg.NKeyFile != "" {
		auths++
		o, err := nats.NkeyOptionFromSeed(cfg.NKeyFile)
		if err != nil {
			return nil, fmt.Errorf("nkey file: %w", err)
		}
		opts = append(opts, o)
	}
	if cfg.CredsFile != "" {
		auths++
		opts = append(opts, nats.UserCredentials(cfg.CredsFile))
	}
	if auths > 1 {
		return nil, errors.New("more than one way to authenticate given: choose user/password, token, nkey or creds")
	}
	if cfg.CAFile != "" {
		opts = append(opts, nats.RootCAs(cfg.CAFile))
	}
	if cfg.CertFile != "" || cfg.KeyFile != "" {
		opts = append(opts, nats.ClientCert(cfg.CertFile, cfg.KeyFile))
	}
	nc, err := nats.Connect(cfg.URL, opts...)
	if err != nil {
		return nil, err
	}
	if !nc.IsConnected() {
		if failedOnce.Swap(true) {
			return nc, nil
		}
		log.Warn("NATS server not reachable yet; retrying in the background", "url", redact.String(cfg.URL))
	} else {
		log.Info("NATS connected", "url", nc.ConnectedUrlRedacted())
	}
	return nc, nil
}
