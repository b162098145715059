package offload

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/seed-4c364652/fusiond/fuse"
	"github.com/seed-4c364652/fusiond/sinks/decision"
)

// Version is the bundle format this package writes and reads.
const Version = 1

// Names of the wire, headers and subjects.
const (
	Schema      = "fusiond.tick.v1"
	ContentType = "application/x-fusiond-tick"
	magic       = "FZTK"
)

// ErrMalformed is wrapped by every decoding error.
var ErrMalformed = errors.New("offload: malformed bundle")

// Names are the evidence and contribution names version 1 sends as a
// table index. Fixed: never reorder or extend within a version.
var Names = []string{
	"audio_coverage", "audio_level_dbfs", "audio_level_rise_db", "audio_onsets", "audio_tonality",
	"av_sync_offset", "av_sync_z", "doa_bearing_deg", "doa_bearing_std_deg", "face_bearing_deg",
	"face_bearing_std_deg", "faces", "motion_energy", "motion_rise", "motion_x", "mouth_motion",
	"vad_score", "vad_speech_fraction", "video_foreground", "bundles", "motion_y", "audio_pitch_hz",
	"av_bearing_agreement", "av_sync_lag_ms", "prior", "audio", "video",
}

var nameIndex = func() map[string]uint64 {
	m := make(map[string]uint64, len(Names))
	for i, n := range Names {
		m[n] = uint64(i + 1)
	}
	return m
}()

// Subject is the subject of robot's feature bundles.
func Subject(robot string) string { return "fusion." + robot + ".offload.tick" }

// SubjectAll matches every robot's feature bundles.
const SubjectAll = "fusion.*.offload.tick"

// MsgID is the Nats-Msg-Id of tick seq of robot in boot.
func MsgID(robot, boot string, seq uint64) string {
	return robot + "-" + boot + "-t" + strconv.FormatUint(seq, 10)
}

// Bundle is one feature bundle: a tick of a robot's boot.
type Bundle struct {
	Robot, Boot string
	Seq         uint64
	Tick        fuse.Tick // Stamps do not travel
}

// Append appends b's encoding to dst.
func Append(dst []byte, b *Bundle) []byte {
	dst = append(dst, magic...)
	dst = append(dst, Version, byte(b.Tick.Kind))
	dst = binary.AppendUvarint(dst, b.Seq)
	dst = appendString(dst, b.Robot)
	dst = appendString(dst, b.Boot)
	dst = binary.AppendVarint(dst, b.Tick.TimeNS)
	dst = appendStrings(dst, b.Tick.Missing)
	dst = appendStrings(dst, b.Tick.MissingStreams)
	dst = appendMap(dst, b.Tick.Evidence)
	if b.Tick.Kind == fuse.TickInterval {
		dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(b.Tick.Logit))
		dst = appendMap(dst, b.Tick.Contributions)
	}
	return dst
}

func appendStrings(dst []byte, s []string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	for _, x := range s {
		dst = appendString(dst, x)
	}
	return dst
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendMap(dst []byte, m map[string]float64) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(m)))
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if i, ok := nameIndex[k]; ok {
			dst = binary.AppendUvarint(dst, i)
		} else {
			dst = binary.AppendUvarint(dst, 0)
			dst = appendString(dst, k)
		}
		dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(m[k]))
	}
	return dst
}

// Decode decodes one bundle.
func Decode(data []byte) (*Bundle, error) {
	r := reader{b: data}
	if len(data) < len(magic)+2 || string(data[:len(magic)]) != magic {
		return nil, fmt.Errorf("%w: not a feature bundle", ErrMalformed)
	}
	if v := data[len(magic)]; v != Version {
		return nil, fmt.Errorf("%w: version %d (this reads %d)", ErrMalformed, v, Version)
	}
	r.off = len(magic) + 1
	b := &Bundle{}
	b.Tick.Kind = fuse.TickKind(r.byte())
	if b.Tick.Kind != fuse.TickStep && b.Tick.Kind != fuse.TickInterval && r.err == nil {
		r.fail("kind %d", b.Tick.Kind)
	}
	b.Seq = r.uvarint()
	b.Robot, b.Boot = r.string(), r.string()
	if r.err == nil && (!decision.ValidToken(b.Robot) || !decision.ValidToken(b.Boot) || b.Seq == 0) {
		r.fail("robot %q boot %q seq %d", b.Robot, b.Boot, b.Seq)
	}
	b.Tick.TimeNS = r.varint()
	b.Tick.Missing = r.strings()
	b.Tick.MissingStreams = r.strings()
	b.Tick.Evidence = r.readMap()
	if b.Tick.Kind == fuse.TickInterval {
		b.Tick.Logit = r.float()
		b.Tick.Contributions = r.readMap()
	}
	if r.err == nil && r.off != len(data) {
		r.fail("%d trailing bytes", len(data)-r.off)
	}
	if r.err != nil {
		return nil, r.err
	}
	return b, nil
}

type reader struct {
	b   []byte
	off int
	err error
}

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: offset %d: %s", ErrMalformed, r.off, fmt.Sprintf(format, args...))
	}
}

func (r *reader) byte() byte {
	if r.err != nil || r.off >= len(r.b) {
		r.fail("truncated")
		return 0
	}
	r.off++
	return r.b[r.off-1]
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b[r.off:])
	if n <= 0 {
		r.fail("bad varint")
		return 0
	}
	r.off += n
	return v
}

func (r *reader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b[r.off:])
	if n <= 0 {
		r.fail("bad varint")
		return 0
	}
	r.off += n
	return v
}

// count reads a count of items of at least one byte each.
func (r *reader) count() int {
	n := r.uvarint()
	if n > uint64(len(r.b)-r.off) {
		r.fail("count %d past the end", n)
		return 0
	}
	return int(n)
}

func (r *reader) string() string {
	n := r.count()
	if r.err != nil {
		return ""
	}
	s := string(r.b[r.off : r.off+n])
	r.off += n
	return s
}

// strings reads a list of strings; nil when empty.
func (r *reader) strings() []string {
	n := r.count()
	var out []string
	for range n {
		out = append(out, r.string())
	}
	return out
}

func (r *reader) float() float64 {
	if r.err != nil || len(r.b)-r.off < 8 {
		r.fail("truncated")
		return 0
	}
	v := math.Float64frombits(binary.LittleEndian.Uint64(r.b[r.off:]))
	r.off += 8
	return v
}

func (r *reader) readMap() map[string]float64 {
	n := r.count()
	m := make(map[string]float64, n)
	prev := ""
	for i := range n {
		var name string
		switch k := r.uvarint(); {
		case k == 0:
			name = r.string()
			if _, ok := nameIndex[name]; ok {
				r.fail("name %q spelled out", name)
			}
		case k <= uint64(len(Names)):
			name = Names[k-1]
		default:
			r.fail("name index %d", k)
		}
		v := r.float()
		if r.err != nil {
			return nil
		}
		if i > 0 && name <= prev {
			r.fail("name %q out of order", name)
			return nil
		}
		m[name], prev = v, name
	}
	return m
}
