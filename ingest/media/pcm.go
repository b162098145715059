package media

import (
	"context"
	"errors"
	"io"

	"github.com/seed-4c364652/fusiond/ingest/av"
)

// poolCapacity bounds the free chunks a source keeps.
const poolCapacity = 8

// pcmPump turns a byte stream of interleaved PCM into audio chunks. Its
// frame count runs on across calls to pump (loops, restarts), so capture
// times stay on one time line: frame k is captured at originNS + k/rate.
type pcmPump struct {
	stream      av.StreamID
	rateHz      int
	channels    int
	chunkFrames int
	enc         SampleEncoding
	pace        bool
	clock       av.Clock
	pool        *av.AudioPool

	buf  []byte
	seq  uint64
	next int64 // the next frame's index
}

func newPCMPump(stream av.StreamID, rateHz, channels, chunkFrames int, enc SampleEncoding, pace bool, clock av.Clock) *pcmPump {
	return &pcmPump{
		stream: stream, rateHz: rateHz, channels: channels, chunkFrames: chunkFrames, enc: enc, pace: pace, clock: clock,
		pool: av.NewAudioPool(rateHz, channels, chunkFrames, poolCapacity),
		buf:  make([]byte, chunkFrames*channels*enc.Size()),
	}
}

// pump reads r to its end and sends its chunks, and returns nil at the end
// of r, ctx's error when ctx ends, or r's error. limit, when not negative,
// stops after that many frames of r.
func (p *pcmPump) pump(ctx context.Context, r io.Reader, out *av.Queue[av.Sample], originNS int64, limit int64) error {
	frameBytes := p.channels * p.enc.Size()
	var read int64
	for limit < 0 || read < limit {
		want := len(p.buf)
		if limit >= 0 {
			want = int(min(int64(want), (limit-read)*int64(frameBytes)))
		}
		n, err := io.ReadFull(r, p.buf[:want])
		frames := n / frameBytes
		if frames > 0 {
			read += int64(frames)
			if serr := p.send(ctx, out, originNS, frames); serr != nil {
				return serr
			}
		}
		switch {
		case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
			return nil
		case err != nil:
			return err
		}
	}
	return nil
}

func (p *pcmPump) send(ctx context.Context, out *av.Queue[av.Sample], originNS int64, frames int) error {
	first := p.next
	p.next += int64(frames)
	if p.pace {
		if err := p.clock.WaitUntil(ctx, originNS+av.FramesToNS(p.next, p.rateHz)); err != nil {
			return err
		}
	}
	c := p.pool.Get()
	c.Data = c.Data[:frames*p.channels]
	decodePCM(p.enc, p.buf, c.Data)
	c.Stream, c.Seq, c.FirstFrame = p.stream, p.seq, first
	c.CaptureNS = originNS + av.FramesToNS(first, p.rateHz)
	c.ArrivalNS = p.clock.Now()
	p.seq++
	if err := out.Send(ctx, c); err != nil {
		c.Release()
		return err
	}
	return nil
}

// stopErr turns the end of ctx into a normal stop.
func stopErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}
