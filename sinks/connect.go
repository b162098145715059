package sinks

import (
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
)

// ConnectExternal connects to the NATS server(s) at url (comma-separated).
// Robots boot in any order: if no server is up yet, it returns a connection
// that keeps retrying in the background (publishes are buffered meanwhile),
// and says so once in the log.
func ConnectExternal(url string, log *slog.Logger) (*nats.Conn, error) {
	var failedOnce atomic.Bool
	nc, err := nats.Connect(url,
		nats.Name("fusiond"),
		nats.RetryOnFailedConnect(true),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(time.Second),
		nats.ReconnectJitter(500*time.Millisecond, time.Second),
		nats.PingInterval(5*time.Second),
		nats.ConnectHandler(func(c *nats.Conn) {
			if failedOnce.Load() {
				log.Info("NATS connected", "url", c.ConnectedUrlRedacted())
			}
		}),
		nats.ReconnectErrHandler(func(c *nats.Conn, err error) {
			if !failedOnce.Swap(true) {
				log.Warn("NATS server not reachable yet; retrying in the background", "url", redact(url), "err", err)
			}
		}),
		nats.DisconnectErrHandler(func(c *nats.Conn, err error) {
			if err != nil {
				log.Warn("NATS disconnected; reconnecting", "err", err)
			}
		}),
		nats.ReconnectHandler(func(c *nats.Conn) {
			log.Info("NATS reconnected", "url", c.ConnectedUrlRedacted())
		}),
		nats.ErrorHandler(func(c *nats.Conn, s *nats.Subscription, err error) {
			log.Error("NATS error", "err", err)
		}),
	)
	if err != nil {
		return nil, err
	}
	if !nc.IsConnected() {
		if !failedOnce.Swap(true) {
			log.Warn("NATS server not reachable yet; retrying in the background", "url", redact(url))
		}
	} else {
		log.Info("NATS connected", "url", nc.ConnectedUrlRedacted())
	}
	return nc, nil
}

// redact hides passwords and tokens in server URLs.
func redact(url string) string {
	parts := strings.Split(url, ",")
	for i, p := range parts {
		if at := strings.LastIndex(p, "@"); at >= 0 {
			if s := strings.Index(p, "://"); s >= 0 && s < at {
				parts[i] = p[:s+3] + "[redacted]" + p[at:]
			}
		}
	}
	return strings.Join(parts, ",")
}
