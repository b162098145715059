package metrics

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/seed-4c364652/fusiond/sinks"
)

// Health is the /healthz answer.
type Health struct {
	OK      bool                 `json:"ok"`
	Sources []sinks.SourceHealth `json:"sources"`
	// Down lists the required streams that are not delivering.
	Down []string `json:"down,omitempty"`
}

// CheckSources says whether every source is healthy; every configured
// source is required.
func CheckSources(sources []sinks.SourceHealth) Health {
	h := Health{OK: true, Sources: sources}
	for _, s := range sources {
		if !s.Healthy {
			h.OK = false
			h.Down = append(h.Down, s.Stream)
		}
	}
	return h
}

// Handler serves /metrics, /healthz (200 when health().OK, 503 otherwise,
// with the per-source report as JSON) and /debug/pprof/.
func (m *Metrics) Handler(health func() Health, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(log.With("component", "metrics").Handler(), slog.LevelError),
	}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		h := Health{OK: true}
		if health != nil {
			h = health()
		}
		w.Header().Set("Content-Type", "application/json")
		if !h.OK {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_ = json.NewEncoder(w).Encode(h)
	})
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintln(w, "fusiond: /metrics /healthz /debug/pprof/")
	})
	return mux
}

// Server is the metrics HTTP server.
type Server struct {
	srv  *http.Server
	ln   net.Listener
	done chan error
	log  *slog.Logger
}

// Serve listens on addr and serves h until Close.
func Serve(addr string, h http.Handler, log *slog.Logger) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics.listen %q: %w", addr, err)
	}
	s := &Server{srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}, ln: ln, done: make(chan error, 1), log: log}
	go func() { s.done <- s.srv.Serve(ln) }()
	return s, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops the server, waiting for requests in flight until ctx ends.
func (s *Server) Close(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if serr := <-s.done; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	if err != nil {
		s.log.Warn("metrics server stopped with an error", "component", "metrics", "err", err)
	}
	return err
}
