package sinks

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/seed-4c364652/fusiond/internal/redact"
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

	// MaxStore and MaxMemory cap JetStream's disk and memory use
	// (defaults 1 GiB and 64 MiB).
	MaxStore, MaxMemory int64
	// SyncInterval is how often JetStream fsyncs its files (0: the
	// server's default, 2 minutes); SyncAlways fsyncs every write.
	SyncInterval time.Duration
	SyncAlways   bool
	// MaxPayload is the largest message the server takes (0: 1 MiB).
	MaxPayload int32
	// Domain is the JetStream domain; set it when a leaf node joins a hub
	// with its own JetStream, so the two stay apart.
	Domain string
	// TLS, when set, is required of TCP clients (in-process connections
	// do without).
	TLS *tls.Config
	// Users, when any, are required of TCP clients. With none, clients
	// that give no credentials are readers (RoleReader). Either way the
	// daemon's own in-process connection (Connect) is the only one with
	// every permission: it uses an internal user with a random password.
	Users []EmbeddedUser
	// LeafRemotes are the hubs this server joins as a leaf node, one
	// remote each: a URL, or several comma-separated (the nodes of one
	// hub cluster, tried in turn). LeafCredentials is a creds file for
	// them.
	LeafRemotes     []string
	LeafCredentials string
	// AnnounceInterval is how often a leaf node with a Domain announces
	// it to the hub (AnnounceSubject; default 10s). It also answers
	// DiscoverSubject requests at once.
	AnnounceInterval time.Duration
}

// EmbeddedUser is a user of the embedded server's TCP listener, with the
// permissions of its Role (RoleReader when empty) plus the subjects of
// the allow lists.
type EmbeddedUser struct {
	Name, Password               string
	Role                         Role
	PublishAllow, SubscribeAllow []string
}

// anonymousUser is who clients without credentials are, when no users
// are configured.
const anonymousUser = "anonymous"

// Embedded is a running in-process nats-server.
type Embedded struct {
	// ownPasswordsOnly: see serverLog.
	ownPasswordsOnly bool
	mu               sync.Mutex
	srv              *server.Server
	opts             *server.Options
	listens          bool
	tempDir          string
	log              *slog.Logger
	// user and password of the internal user, the daemon's own.
	user, password string
	name           string
	// stopAnnounce ends the announcer (leaf nodes with a domain).
	stopAnnounce func()
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
	name := "fusiond-embedded"
	if cfg.Domain != "" {
		// Unique within a fleet: a hub replaces a leaf connection by one
		// of the same server name.
		name = "fusiond-" + cfg.Domain
	}
	opts := &server.Options{
		ServerName: name,
		JetStream:  true,
		NoSigs:     true, // the daemon owns its signals
		// Bounded: a robot's disk and memory are not the server's to fill.
		JetStreamMaxMemory: 64 << 20,
		JetStreamMaxStore:  1 << 30,
		JetStreamDomain:    cfg.Domain,
		SyncInterval:       cfg.SyncInterval,
		SyncAlways:         cfg.SyncAlways,
		MaxPayload:         cfg.MaxPayload,
	}
	if cfg.MaxStore > 0 {
		opts.JetStreamMaxStore = cfg.MaxStore
	}
	if cfg.MaxMemory > 0 {
		opts.JetStreamMaxMemory = cfg.MaxMemory
	}
	if cfg.TLS != nil {
		opts.TLSConfig = cfg.TLS
		opts.TLS = true
		opts.TLSVerify = cfg.TLS.ClientAuth == tls.RequireAndVerifyClientCert
		opts.TLSTimeout = 2
	}
	for _, r := range cfg.LeafRemotes {
		remote := &server.RemoteLeafOpts{Credentials: cfg.LeafCredentials}
		for _, one := range strings.Split(r, ",") {
			u, err := url.Parse(strings.TrimSpace(one))
			if err != nil {
				return nil, fmt.Errorf("embedded nats: leaf remote %q: %s", redact.String(one), redact.String(err.Error()))
			}
			remote.URLs = append(remote.URLs, u)
		}
		opts.LeafNode.Remotes = append(opts.LeafNode.Remotes, remote)
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
	e := &Embedded{log: log, listens: !opts.DontListen, name: name}
	e.ownPasswordsOnly = !plaintextPasswords(cfg.Users)
	// Least privilege: the daemon's own connection is the only admin.
	e.user, e.password = "fusiond-internal", rand.Text()
	opts.Users = append(opts.Users, &server.User{Username: e.user, Password: e.password})
	if len(cfg.Users) == 0 {
		opts.Users = append(opts.Users, &server.User{Username: anonymousUser, Password: rand.Text(),
			Permissions: RolePermissions(RoleReader, nil, nil)})
		opts.NoAuthUser = anonymousUser
	}
	for _, u := range cfg.Users {
		role, err := ParseRole(string(u.Role))
		if err != nil {
			return nil, fmt.Errorf("embedded nats: user %q: %w", u.Name, err)
		}
		opts.Users = append(opts.Users, &server.User{Username: u.Name, Password: u.Password,
			Permissions: RolePermissions(role, u.PublishAllow, u.SubscribeAllow)})
	}
	opts.StoreDir = cfg.StoreDir
	if opts.StoreDir == "" {
		dir, err := os.MkdirTemp("", "fusiond-jetstream-")
		if err != nil {
			return nil, fmt.Errorf("embedded nats: %w", err)
		}
		e.tempDir, opts.StoreDir = dir, dir
	}
	e.opts = opts
	if err := e.start(); err != nil {
		e.removeTemp()
		return nil, err
	}
	if len(cfg.LeafRemotes) > 0 && cfg.Domain != "" {
		if err := e.startAnnouncer(cfg.Domain, cfg.AnnounceInterval); err != nil {
			e.Shutdown()
			return nil, err
		}
	}
	if a := e.Addr(); a != "" {
		log.Info("embedded NATS server listening", "url", "nats://"+a, "store_dir", opts.StoreDir)
	} else {
		log.Info("embedded NATS server running in-process only", "store_dir", opts.StoreDir)
	}
	return e, nil
}

// start starts a server from e.opts and waits until it accepts
// connections.
func (e *Embedded) start() error {
	srv, err := server.NewServer(e.opts.Clone())
	if err != nil {
		return fmt.Errorf("embedded nats: %w", err)
	}
	logger := &serverLog{log: e.log.With("component", "nats-server"), ownPasswordsOnly: e.ownPasswordsOnly}
	srv.SetLogger(logger, false, false)
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		srv.WaitForShutdown()
		if msg := logger.fatal(); msg != "" {
			return fmt.Errorf("embedded nats: %s", msg)
		}
		return errors.New("embedded nats: not ready after 10s")
	}
	if e.listens && e.opts.Port == server.RANDOM_PORT {
		// Keep the port across restarts, so TCP clients find it again.
		e.opts.Port = srv.Addr().(*net.TCPAddr).Port
	}
	e.mu.Lock()
	e.srv = srv
	e.mu.Unlock()
	return nil
}

// Server returns the running nats-server (for tests and monitoring).
func (e *Embedded) Server() *server.Server {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.srv
}

// Addr returns the TCP listener's host:port, or "" when there is none.
func (e *Embedded) Addr() string {
	if !e.listens {
		return ""
	}
	return net.JoinHostPort(e.opts.Host, strconv.Itoa(e.opts.Port))
}

// URL returns the TCP listener's nats:// (or tls://) URL, or "".
func (e *Embedded) URL() string {
	if !e.listens {
		return ""
	}
	if e.opts.TLSConfig != nil {
		return "tls://" + e.Addr()
	}
	return "nats://" + e.Addr()
}

// InProcessConn implements nats.InProcessConnProvider, always with the
// server running now, so in-process clients reconnect across Restart.
func (e *Embedded) InProcessConn() (net.Conn, error) {
	srv := e.Server()
	if srv == nil || !srv.Running() {
		return nil, errors.New("embedded nats: not running")
	}
	return srv.InProcessConn()
}

// Connect returns an in-process client connection. It reconnects forever,
// so it survives a Restart.
func (e *Embedded) Connect(opts ...nats.Option) (*nats.Conn, error) {
	base := []nats.Option{nats.InProcessServer(e), nats.Name("fusiond"),
		nats.MaxReconnects(-1), nats.ReconnectWait(20 * time.Millisecond), nats.UserInfo(e.user, e.password)}
	return nats.Connect("", append(base, opts...)...)
}

// Restart shuts the server down and starts it again with the same options
// and store, as a crash and reboot of the server would. Clients reconnect.
func (e *Embedded) Restart() error {
	e.stop()
	return e.start()
}

// Stop shuts the server down without removing its store; Start starts it
// again. Between the two, clients are disconnected and buffer.
func (e *Embedded) Stop() { e.stop() }

// Start starts a stopped server again.
func (e *Embedded) Start() error { return e.start() }

func (e *Embedded) stop() {
	e.mu.Lock()
	srv := e.srv
	e.srv = nil
	e.mu.Unlock()
	if srv != nil {
		srv.Shutdown()
		srv.WaitForShutdown()
	}
}

// Shutdown stops the server, waits for it, and removes a temporary store.
func (e *Embedded) Shutdown() {
	if e.stopAnnounce != nil {
		e.stopAnnounce()
	}
	e.stop()
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
	log *slog.Logger
	// ownPasswordsOnly: no configured user has a plaintext password, so
	// the server's plaintext warning is about fusiond's own users.
	ownPasswordsOnly bool
	mu               sync.Mutex
	fatalMsg         string
}

func (l *serverLog) Noticef(format string, v ...any) { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l *serverLog) Warnf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	if l.ownPasswordsOnly && strings.HasPrefix(msg, "Plaintext passwords detected") {
		// The daemon's own users (its internal admin, the anonymous
		// reader) have random per-start passwords the server must hold
		// as they are (no_auth_user cannot be bcrypt): nothing for the
		// operator to fix.
		l.log.Debug(msg, "reason", "only fusiond's random per-start passwords are plaintext")
		return
	}
	l.log.Warn(msg)
}
func (l *serverLog) Errorf(format string, v ...any) { l.log.Error(fmt.Sprintf(format, v...)) }
func (l *serverLog) Debugf(format string, v ...any) { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l *serverLog) Tracef(format string, v ...any) {}
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

// ServerTLS loads a server certificate for the embedded listener; empty
// files give nil (no TLS). verify requires client certificates signed by
// caFile.
func ServerTLS(certFile, keyFile, caFile string, verify bool) (*tls.Config, error) {
	if certFile == "" && keyFile == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	c := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s: no certificates", caFile)
		}
		c.ClientCAs = pool
		if verify {
			c.ClientAuth = tls.RequireAndVerifyClientCert
		}
	}
	return c, nil
}

// plaintextPasswords says whether a configured user's password is
// plaintext rather than a bcrypt hash (what nats-server warns about).
func plaintextPasswords(users []EmbeddedUser) bool {
	for _, u := range users {
		if u.Password != "" && !strings.HasPrefix(u.Password, "$2") {
			return true
		}
	}
	return false
}
