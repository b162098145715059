package client

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
)

// DialConfig is how a subscriber connects: credentials, and callbacks
// that say what the connection is doing (each may be nil).
type DialConfig struct {
	// Name is the connection's name on the server.
	Name string
	// CredsFile is a JWT credentials file; User and Password a user's
	// credentials; CAFile the CA for tls:// servers.
	CredsFile, User, Password, CAFile string
	// Waiting is called once if the first connect fails (the server is
	// not up yet); Dial goes on trying.
	Waiting func(err error)
	// Disconnected and Reconnected are called when the link drops and
	// comes back; Error on asynchronous errors (a slow consumer, a
	// permission denied).
	Disconnected func()
	Reconnected  func()
	Error        func(err error)
}

// Conn is a subscriber's connection to NATS: it reconnects for ever.
// No callback of its DialConfig runs after Close returns.
type Conn struct {
	*nats.Conn
	up      chan struct{}
	mu      sync.Mutex // held while a callback runs
	closing bool
}

// call runs f unless the connection is closing.
func (c *Conn) call(f func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closing {
		f()
	}
}

// Close closes the connection; the callbacks are done when it returns.
func (c *Conn) Close() {
	c.mu.Lock()
	c.closing = true
	c.mu.Unlock()
	c.Conn.Close()
}

// Dial connects to the server(s) at url (comma-separated), retrying for
// ever in the background if none is up yet: it returns at once. Use
// WaitConnected before what needs the server (JetStream).
func Dial(url string, c DialConfig) (*Conn, error) {
	conn := &Conn{up: make(chan struct{})}
	var connected, waiting atomic.Bool
	opts := []nats.Option{
		nats.Name(c.Name),
		nats.RetryOnFailedConnect(true),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.ConnectHandler(func(*nats.Conn) {
			if !connected.Swap(true) {
				close(conn.up)
			}
		}),
		nats.ReconnectErrHandler(func(_ *nats.Conn, err error) {
			if !connected.Load() && !waiting.Swap(true) && c.Waiting != nil {
				conn.call(func() { c.Waiting(err) })
			}
		}),
		nats.DisconnectErrHandler(func(*nats.Conn, error) {
			if c.Disconnected != nil {
				conn.call(c.Disconnected)
			}
		}),
		nats.ReconnectHandler(func(*nats.Conn) {
			if c.Reconnected != nil {
				conn.call(c.Reconnected)
			}
		}),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			if c.Error != nil {
				conn.call(func() { c.Error(err) })
			}
		}),
	}
	if c.CredsFile != "" {
		opts = append(opts, nats.UserCredentials(c.CredsFile))
	}
	if c.User != "" {
		opts = append(opts, nats.UserInfo(c.User, c.Password))
	}
	if c.CAFile != "" {
		opts = append(opts, nats.RootCAs(c.CAFile))
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return nil, err
	}
	conn.Conn = nc
	if nc.IsConnected() && !connected.Swap(true) {
		close(conn.up)
	}
	return conn, nil
}

// WaitConnected waits until the connection has been up once, or ctx ends
// (then it returns ctx's error).
func (c *Conn) WaitConnected(ctx context.Context) error {
	select {
	case <-c.up:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
