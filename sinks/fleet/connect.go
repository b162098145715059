package fleet

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/seed-4c364652/fusiond/configs"
	"github.com/seed-4c364652/fusiond/internal/redact"
	"github.com/seed-4c364652/fusiond/sinks"
)

// ConnectHub connects to the hub described by n (as fusiond fleet
// commands do: named fusiond-fleet, quick reconnects) and waits for the
// connection until ctx ends.
func ConnectHub(ctx context.Context, n configs.NATS, log *slog.Logger) (*nats.Conn, error) {
	nc, err := sinks.ConnectExternal(sinks.ExternalConfig{
		URL: n.URL, User: n.User, Password: n.Password, Token: n.Token, NKeyFile: n.NKeyFile, CredsFile: n.CredsFile,
		CAFile: n.TLS.CAFile, CertFile: n.TLS.CertFile, KeyFile: n.TLS.KeyFile,
		PingInterval: n.PingInterval, ReconnectWait: 250 * time.Millisecond, Name: "fusiond-fleet",
	}, log, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("hub %s: %w", redact.String(n.URL), err)
	}
	for !nc.IsConnected() {
		select {
		case <-ctx.Done():
			nc.Close()
			return nil, fmt.Errorf("hub %s: not reachable", redact.String(n.URL))
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nc, nil
}
