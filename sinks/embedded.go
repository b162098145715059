package sinks

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// EmbeddedConfig configures the in-process nats-server.
type EmbeddedConfig struct {
	// Listen is the TCP address for other processes ("127.0.0.1:4222",
	// port 0 for any free port); empty for in-process connections only.
	Listen string
	// StoreDir holds JetStream's files; empty for a temporary directory
	// that Shutdown removes.
	StoreDir string
	Log      *slog.Logger
}

// Embedded is a running in-process nats-server.
type Embedded struct {
	srv     *server.Server
	listens bool
	tempDir string
	log     *slog.Logger
}

// ErrListen is wrapped when the embedded server cannot take its address.
var ErrListen = errors.New("cannot listen")

// StartEmbedded starts a nats-server in this process and waits until it
// accepts connections.
func StartEmbedded(cfg EmbeddedConfig) (*Embedded, error) {
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	opts := &server.Options{
		ServerName: "fusiond-embedded",
		JetStream:  true,
		NoSigs:     true, // the daemon owns its signals
		// Bounded: a robot's disk and memory are not the server's to fill.
		JetStreamMaxMemory: 64 << 20,
		JetStreamMaxStore:  1 << 30,
	}
	if cfg.Listen == "" {
		opts.DontListen = true
	} else {
		host, port, err := net.SplitHostPort(cfg.Listen)
		if err != nil {
			return nil, fmt.Errorf("embedded nats: listen %q: %w", cfg.Listen, err)
		}
		n, err := strconv.Atoi(port)
		if err != nil {
			return nil, fmt.Errorf("embedded nats: listen %q: bad port", cfg.Listen)
		}
		if n == 0 {
			n = server.RANDOM_PORT
		}
		opts.Host, opts.Port = host, n
		// nats-server reports a taken port only in its log; check first so
		// the error is plain.
		if n != server.RANDOM_PORT {
			l, err := net.Listen("tcp", cfg.Listen)
			if err != nil {
				return nil, fmt.Errorf("embedded nats: %w on %s: %w", ErrListen, cfg.Listen, err)
			}
			l.Close()
		}
	}
	e := &Embedded{log: log, listens: !opts.DontListen}
	opts.StoreDir = cfg.StoreDir
	if opts.StoreDir == "" {
		dir, err := os.MkdirTemp("", "fusiond-jetstream-")
		if err != nil {
			return nil, fmt.Errorf("embedded nats: %w", err)
		}
		e.tempDir, opts.StoreDir = dir, dir
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		e.removeTemp()
		return nil, fmt.Errorf("embedded nats: %w", err)
	}
	logger := &serverLog{log: log.With("component", "nats-server")}
	srv.SetLogger(logger, false, false)
	e.srv = srv
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		srv.WaitForShutdown()
		e.removeTemp()
		if msg := logger.fatal(); msg != "" {
			return nil, fmt.Errorf("embedded nats: %s", msg)
		}
		return nil, errors.New("embedded nats: not ready after 10s")
	}
	if a := e.Addr(); a != "" {
		log.Info("embedded NATS server listening", "url", "nats://"+a, "store_dir", opts.StoreDir)
	} else {
		log.Info("embedded NATS server running in-process only", "store_dir", opts.StoreDir)
	}
	return e, nil
}

// Addr returns the TCP listener's host:port, or "" when there is none.
func (e *Embedded) Addr() string {
	if !e.listens {
		return ""
	}
	return e.srv.Addr().String()
}

// Connect returns an in-process client connection.
func (e *Embedded) Connect(opts ...nats.Option) (*nats.Conn, error) {
	opts = append([]nats.Option{nats.InProcessServer(e.srv), nats.Name("fusiond")}, opts...)
	return nats.Connect("", opts...)
}

// Shutdown stops the server, waits for it, and removes a temporary store.
func (e *Embedded) Shutdown() {
	e.srv.Shutdown()
	e.srv.WaitForShutdown()
	e.removeTemp()
}

func (e *Embedded) removeTemp() {
	if e.tempDir != "" {
		if err := os.RemoveAll(e.tempDir); err != nil {
			e.log.Warn("cannot remove the embedded NATS store", "dir", e.tempDir, "err", err)
		}
	}
}

// serverLog adapts nats-server's logger to slog and keeps the first fatal
// message, which the server only logs.
type serverLog struct {
	log      *slog.Logger
	mu       sync.Mutex
	fatalMsg string
}

func (l *serverLog) Noticef(format string, v ...any) { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l *serverLog) Warnf(format string, v ...any)   { l.log.Warn(fmt.Sprintf(format, v...)) }
func (l *serverLog) Errorf(format string, v ...any)  { l.log.Error(fmt.Sprintf(format, v...)) }
func (l *serverLog) Debugf(format string, v ...any)  { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l *serverLog) Tracef(format string, v ...any)  {}
func (l *serverLog) Fatalf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	l.mu.Lock()
	if l.fatalMsg == "" {
		l.fatalMsg = msg
	}
	l.mu.Unlock()
}

func (l *serverLog) fatal() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.fatalMsg
}
