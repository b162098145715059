package media

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"

	"github.com/seed-4c364652/fusiond/ingest/av"
)

// WAVConfig configures a WAV file source.
type WAVConfig struct {
	Stream av.StreamID
	Path   string
	// RateHz and Channels, when not 0, must match the file's: the source
	// does not resample.
	RateHz, Channels int
	ChunkFrames      int // audio frames per chunk, > 0
	// Pace sends each chunk when the clock reaches its end; otherwise the
	// file is read as fast as the pipeline takes it.
	Pace bool
	// Loop starts over at the end of the file.
	Loop bool
}

// WAV plays a WAV file as an audio stream.
type WAV struct {
	cfg   WAVConfig
	info  WAVInfo
	clock av.Clock
}

// OpenWAV checks that cfg.Path is a readable WAV file that matches cfg and
// returns the source. The file is opened again by Run.
func OpenWAV(cfg WAVConfig, clock av.Clock) (*WAV, error) {
	if cfg.ChunkFrames <= 0 {
		return nil, fmt.Errorf("media: wav %s: chunk of %d frames", cfg.Path, cfg.ChunkFrames)
	}
	f, err := os.Open(cfg.Path)
	if err != nil {
		return nil, fmt.Errorf("media: wav: %w", err)
	}
	defer f.Close()
	info, err := ParseWAVHeader(bufio.NewReader(f))
	if err != nil {
		return nil, fmt.Errorf("media: %s: %w", cfg.Path, err)
	}
	if (cfg.RateHz != 0 && cfg.RateHz != info.RateHz) || (cfg.Channels != 0 && cfg.Channels != info.Channels) {
		return nil, fmt.Errorf("media: %s is %d Hz with %d channels, configured %d Hz with %d channels (set rate_hz: %d, channels: %d)",
			cfg.Path, info.RateHz, info.Channels, cfg.RateHz, cfg.Channels, info.RateHz, info.Channels)
	}
	if info.Frames() == 0 {
		return nil, fmt.Errorf("media: %s: %w: no audio frames", cfg.Path, ErrNotWAV)
	}
	return &WAV{cfg: cfg, info: info, clock: clock}, nil
}

// Info returns the file's format.
func (w *WAV) Info() WAVInfo { return w.info }

// Run sends the file's audio to out, frame k captured at startNS + k/rate,
// until the end of the file (or forever with Loop) or ctx ends. It does not
// close out.
func (w *WAV) Run(ctx context.Context, out *av.Queue[av.Sample], startNS int64) error {
	p := newPCMPump(w.cfg.Stream, w.info.RateHz, w.info.Channels, w.cfg.ChunkFrames, w.info.Encoding, w.cfg.Pace, w.clock)
	for {
		before := p.next
		if err := w.playOnce(ctx, p, out, startNS); err != nil {
			return stopErr(ctx, err)
		}
		if !w.cfg.Loop || p.next == before {
			return nil
		}
	}
}

func (w *WAV) playOnce(ctx context.Context, p *pcmPump, out *av.Queue[av.Sample], startNS int64) error {
	f, err := os.Open(w.cfg.Path)
	if err != nil {
		return fmt.Errorf("media: wav: %w", err)
	}
	defer f.Close()
	if _, err := f.Seek(w.info.DataOffset, io.SeekStart); err != nil {
		return fmt.Errorf("media: wav %s: %w", w.cfg.Path, err)
	}
	limit := w.info.Frames()
	if err := p.pump(ctx, bufio.NewReaderSize(f, 1<<16), out, startNS, limit); err != nil {
		return fmt.Errorf("media: wav %s: %w", w.cfg.Path, err)
	}
	return nil
}
