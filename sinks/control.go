package sinks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/seed-4c364652/fusiond/sinks/client"
)

// Recorder starts and stops recording on request of the control plane.
// The record.start and record.stop endpoints exist only when one is given.
type Recorder interface {
	// StartRecording starts a recording; req is the request body (JSON,
	// may be empty). The result is answered as JSON.
	StartRecording(ctx context.Context, req []byte) (any, error)
	StopRecording(ctx context.Context) (any, error)
}

// ControlConfig configures the control-plane service.
type ControlConfig struct {
	Robot string
	// Version of fusiond; a non-semver version (a git describe) is
	// reported in metadata and the service says 0.0.0.
	Version string
	// Status, Config and Sources answer the endpoints of those names;
	// each returns a value encoded as JSON.
	Status  func() any
	Config  func() any
	Sources func() any
	// Recorder, when set, adds record.start and record.stop.
	Recorder Recorder
	// RequestTimeout bounds a record.* request (default 10s).
	RequestTimeout time.Duration
	// PendingLimit bounds each endpoint's queue of requests (default
	// 1024); a flood beyond it is dropped and reported to OnError.
	PendingLimit int
	// OnError is told of async errors on the service's subscriptions (a
	// flood of requests); the service goes on.
	OnError func(error)
}

var semver = regexp.MustCompile(`^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)

// StartControl starts the nats micro service "fusiond" with the robot id
// in its metadata and its endpoints under fusion.<robot>.ctl.: status,
// config, sources, and record.start / record.stop when recording exists.
// It answers $SRV.PING, $SRV.INFO and $SRV.STATS, so `nats micro ls`
// lists it. Stop it with Stop before closing nc.
func StartControl(nc *nats.Conn, cfg ControlConfig) (micro.Service, error) {
	version := "0.0.0"
	if semver.MatchString(cfg.Version) {
		version = cfg.Version
	} else if v := cfg.Version; len(v) > 1 && v[0] == 'v' && semver.MatchString(v[1:]) {
		version = v[1:]
	}
	timeout := cfg.RequestTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	svc, err := micro.AddService(nc, micro.Config{
		Name:        client.ServiceName,
		Version:     version,
		Description: "fusiond control plane for robot " + cfg.Robot,
		Metadata:    map[string]string{"robot": cfg.Robot, "fusiond_version": cfg.Version},
		// Every instance of one robot answers: no queue group sharing
		// across robots is wanted, and one robot runs one daemon.
		QueueGroup: "fusiond-" + cfg.Robot,
		ErrorHandler: func(_ micro.Service, e *micro.NATSError) {
			if cfg.OnError != nil {
				cfg.OnError(e)
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("control plane: %w", err)
	}
	grp := svc.AddGroup("fusion." + cfg.Robot + ".ctl")
	limit := cfg.PendingLimit
	if limit <= 0 {
		limit = 1024
	}
	add := func(name string, h micro.HandlerFunc, opts ...micro.EndpointOpt) error {
		opts = append(opts, micro.WithEndpointPendingLimits(limit, 64<<20))
		return grp.AddEndpoint(name, onlyRequests(h, cfg.OnError), opts...)
	}
	reply := func(f func() any) micro.HandlerFunc {
		return func(r micro.Request) {
			if f == nil {
				r.Error("501", "not available", nil)
				return
			}
			respondJSON(r, f(), nil)
		}
	}
	errs := []error{
		add("status", reply(cfg.Status), micro.WithEndpointMetadata(map[string]string{"description": "sources, rates, drops, lag, queues, backend, NATS"})),
		add("config", reply(cfg.Config), micro.WithEndpointMetadata(map[string]string{"description": "the running config"})),
		add("sources", reply(cfg.Sources), micro.WithEndpointMetadata(map[string]string{"description": "health per stream"})),
	}
	if rec := cfg.Recorder; rec != nil {
		errs = append(errs,
			add("record_start", func(r micro.Request) {
				ctx, cancel := context.WithTimeout(context.Background(), timeout)
				defer cancel()
				v, err := rec.StartRecording(ctx, r.Data())
				respondJSON(r, v, err)
			}, micro.WithEndpointSubject("record.start")),
			add("record_stop", func(r micro.Request) {
				ctx, cancel := context.WithTimeout(context.Background(), timeout)
				defer cancel()
				v, err := rec.StopRecording(ctx)
				respondJSON(r, v, err)
			}, micro.WithEndpointSubject("record.stop")),
		)
	}
	if err := errors.Join(errs...); err != nil {
		svc.Stop()
		return nil, fmt.Errorf("control plane: %w", err)
	}
	// While connected, flushed, so that the server has the endpoints'
	// subscriptions before anyone is told the control plane is up: a
	// request from another connection right after would otherwise find
	// no responders. With the server down the client sends them on
	// reconnecting, so a failed flush is not an error.
	if nc.IsConnected() {
		_ = nc.FlushTimeout(2 * time.Second)
	}
	return svc, nil
}

// ErrNotARequest is reported (to OnError) for a message on a control
// subject that no client asked: one without a reply subject (a consumer's
// heartbeat) or one a JetStream consumer delivered ($JS.ACK. reply). A
// reader may create push consumers, and the server delivers for them
// whatever their permissions: without this check a reader could replay
// the decision log onto record.start.
var ErrNotARequest = errors.New("not a request: ignored")

func onlyRequests(h micro.HandlerFunc, onError func(error)) micro.HandlerFunc {
	return func(r micro.Request) {
		if reply := r.Reply(); reply == "" || strings.HasPrefix(reply, "$JS.") {
			if onError != nil {
				onError(fmt.Errorf("%s: %w", r.Subject(), ErrNotARequest))
			}
			return
		}
		h(r)
	}
}

// CodeError is a control-plane error with the code its answer carries:
// 400-class for the client's mistakes. Wrap one (with %w) to pick the
// code; any other error answers 500.
type CodeError struct {
	Code int
	Msg  string
}

func (e *CodeError) Error() string { return e.Msg }

// Client errors of the control plane.
var (
	ErrBadRequest = &CodeError{400, "bad request"} // malformed or invalid body
	ErrForbidden  = &CodeError{403, "forbidden"}   // not allowed (e.g. a path outside record.dir)
	ErrConflict   = &CodeError{409, "conflict"}    // not now (e.g. already recording)
)

// errorCode is the code of an answer to err.
func errorCode(err error) string {
	var ce *CodeError
	switch {
	case errors.As(err, &ce):
		return strconv.Itoa(ce.Code)
	case errors.Is(err, context.DeadlineExceeded):
		return "504"
	default:
		return "500"
	}
}

func respondJSON(r micro.Request, v any, err error) {
	if err != nil {
		r.Error(errorCode(err), err.Error(), nil)
		return
	}
	if err := r.RespondJSON(v); err != nil {
		r.Error("500", "encode: "+err.Error(), nil)
	}
}

// StatusReport is the control plane's answer to status: the periodic
// status plus what only a request needs.
type StatusReport struct {
	Status
	// SigningKey is the public key (nkey) the robot signs its decisions
	// with; subscribers trust it (client.WithVerifier, tail --verify).
	SigningKey string         `json:"signing_key,omitempty"`
	UptimeNS   int64          `json:"uptime_ns"`
	Sources    []SourceHealth `json:"sources"`
	NATS       NATSReport     `json:"nats"`
}

// SourceHealth is one stream's health.
type SourceHealth struct {
	Stream string `json:"stream"`
	Kind   string `json:"kind"` // camera or microphone
	Source string `json:"source"`
	// Samples counts samples that reached sync; RateHz is their rate over
	// the run.
	Samples uint64  `json:"samples"`
	RateHz  float64 `json:"rate_hz"`
	// LagNS is now minus the capture time of the last sample (0 before
	// the first).
	LagNS int64 `json:"lag_ns"`
	// Drops counts this stream's drops over every reason.
	Drops   uint64 `json:"drops"`
	Healthy bool   `json:"healthy"`
}

// NATSReport is the NATS side of the status.
type NATSReport struct {
	Connected bool              `json:"connected"`
	Server    string            `json:"server"`
	Events    map[string]uint64 `json:"events"`
	Outbox    *OutboxStats      `json:"outbox,omitempty"`
	Stream    string            `json:"stream,omitempty"`
}

// Request sends a control request to robot's endpoint and decodes the
// JSON answer into v. It is what `nats req fusion.<robot>.ctl.status ”`
// does.
func Request(nc *nats.Conn, robot, endpoint string, body []byte, v any, timeout time.Duration) error {
	m, err := nc.Request(client.ControlSubject(robot, endpoint), body, timeout)
	if err != nil {
		return err
	}
	if code := m.Header.Get(micro.ErrorCodeHeader); code != "" {
		return fmt.Errorf("%s %s: %s %s", robot, endpoint, code, m.Header.Get(micro.ErrorHeader))
	}
	return json.Unmarshal(m.Data, v)
}
