package sync

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// TraceHeader is the first line of a trace file.
const TraceHeader = "# fusiond-trace v1"

// MaxTraceNS is the largest timestamp a trace may hold: ROS time is
// unsigned 32-bit seconds.
const MaxTraceNS = int64(1)<<32*1e9 - 1

// TraceEvent is one message of a trace: its stream and its timestamp.
type TraceEvent struct {
	Stream int
	TimeNS int64
}

// Trace is a sequence of messages in arrival order, in the format the
// message_filters peer reads (../shared/peers/README.md): one message a
// line, "<stream-index> <timestamp-ns>", comments starting with '#'.
type Trace struct {
	Streams int // one more than the highest stream index
	Events  []TraceEvent
}

// ErrTrace is wrapped by every error about a trace's contents.
var ErrTrace = errors.New("bad trace")

// ParseTrace reads a trace. Errors name the line. A trace may hold up to
// MaxApproxStreams streams; indices need not all appear (a stream that
// never starts is valid input).
func ParseTrace(r io.Reader) (*Trace, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	t := &Trace{}
	line := 0
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if len(b) > 0 && b[len(b)-1] == '\r' {
			b = b[:len(b)-1]
		}
		if len(b) == 0 || b[0] == '#' {
			continue
		}
		ev, err := parseTraceLine(b)
		if err != nil {
			return t, fmt.Errorf("%w: line %d: %v", ErrTrace, line, err)
		}
		if ev.Stream+1 > t.Streams {
			t.Streams = ev.Stream + 1
		}
		t.Events = append(t.Events, ev)
	}
	if err := sc.Err(); err != nil {
		return t, fmt.Errorf("%w: after line %d: %v", ErrTrace, line, err)
	}
	return t, nil
}

func parseTraceLine(b []byte) (TraceEvent, error) {
	i := 0
	skip := func() {
		for i < len(b) && (b[i] == ' ' || b[i] == '\t') {
			i++
		}
	}
	num := func(what string, max int64) (int64, error) {
		start := i
		var v int64
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			d := int64(b[i] - '0')
			if d > max || v > (max-d)/10 {
				return 0, fmt.Errorf("%s %q is out of range 0..%d", what, b[start:min(len(b), i+1)], max)
			}
			v = v*10 + d
			i++
		}
		if i == start {
			return 0, fmt.Errorf("want %s (a non-negative integer), got %q", what, b[start:])
		}
		return v, nil
	}
	skip()
	s, err := num("stream index", MaxApproxStreams-1)
	if err != nil {
		return TraceEvent{}, err
	}
	if i == len(b) || (b[i] != ' ' && b[i] != '\t') {
		return TraceEvent{}, fmt.Errorf("want \"<stream-index> <timestamp-ns>\", got %q", b)
	}
	skip()
	ns, err := num("timestamp", MaxTraceNS)
	if err != nil {
		return TraceEvent{}, err
	}
	skip()
	if i != len(b) {
		return TraceEvent{}, fmt.Errorf("trailing %q", b[i:])
	}
	return TraceEvent{Stream: int(s), TimeNS: ns}, nil
}

// WriteTo writes the trace in its text form, header first.
func (t *Trace) WriteTo(w io.Writer) (int64, error) {
	bw := bufio.NewWriterSize(w, 64*1024)
	var n int64
	k, err := bw.WriteString(TraceHeader + "\n")
	n += int64(k)
	if err != nil {
		return n, err
	}
	buf := make([]byte, 0, 32)
	for _, ev := range t.Events {
		buf = strconv.AppendInt(buf[:0], int64(ev.Stream), 10)
		buf = append(buf, ' ')
		buf = strconv.AppendInt(buf, ev.TimeNS, 10)
		buf = append(buf, '\n')
		k, err := bw.Write(buf)
		n += int64(k)
		if err != nil {
			return n, err
		}
	}
	return n, bw.Flush()
}

// AppendSet appends one set in the peer's sets format, "set <t0> <t1> ...\n".
func AppendSet(dst []byte, set []Member) []byte {
	dst = append(dst, "set"...)
	for _, m := range set {
		dst = append(dst, ' ')
		dst = strconv.AppendInt(dst, m.TimeNS, 10)
	}
	return append(dst, '\n')
}
