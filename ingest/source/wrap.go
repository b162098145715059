package source

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/ingest/retry"
)

// Backoff between attempts to reopen a missing or lost device.
const (
	deviceMinBackoff = 500 * time.Millisecond
	deviceMaxBackoff = 10 * time.Second
)

// supervised wraps a live device so that a missing or lost device is
// retried with backoff while the other streams go on.
func supervised(src retry.Source, name string, env Env) Source {
	return retry.New(src, retry.Config{Stream: av.StreamID(name), MinBackoff: deviceMinBackoff, MaxBackoff: deviceMaxBackoff}, env.Clock, env.Drops, env.log())
}

// permanentSource logs and marks every error of a file source as
// permanent: the stream is missing from then on, the others go on.
type permanentSource struct {
	src  retry.Source
	log  *slog.Logger
	name string
}

// permanent wraps a file source: a file either plays or it does not, no
// retries.
func permanent(src retry.Source, name string, env Env) Source {
	return permanentSource{src, env.log(), name}
}

func (p permanentSource) Run(ctx context.Context, out *av.Queue[av.Sample], startNS int64) error {
	if err := p.src.Run(ctx, out, startNS); err != nil {
		p.log.Error("source failed; its stream will be missing", "stream", p.name, "err", err)
		return retry.Permanent(err)
	}
	return nil
}

// failedSource stands in for a source whose file could not be opened: the
// error is logged at start, the stream is missing from every bundle, the
// rest of the pipeline runs, and Run returns the error at the end.
type failedSource struct{ err error }

func (f failedSource) Run(context.Context, *av.Queue[av.Sample], int64) error { return f.err }

// failed logs err and returns the stand-in source.
func failed(m Modality, name string, err error, env Env) Source {
	env.log().Error(string(m)+" cannot start; its stream will be missing", "stream", name, "err", err)
	return failedSource{retry.Permanent(fmt.Errorf("%s %s: %w", m, name, err))}
}
