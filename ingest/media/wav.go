package media

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// ErrNotWAV is wrapped by every error about a file that is not a WAV file
// this package can read.
var ErrNotWAV = errors.New("not a supported WAV file")

// SampleEncoding is how one PCM sample is stored.
type SampleEncoding uint8

// Sample encodings of WAV data.
const (
	PCMUint8 SampleEncoding = iota + 1
	PCMInt16
	PCMInt24
	PCMInt32
	PCMFloat32
	PCMFloat64
)

// Size returns the bytes per sample.
func (e SampleEncoding) Size() int {
	switch e {
	case PCMUint8:
		return 1
	case PCMInt16:
		return 2
	case PCMInt24:
		return 3
	case PCMInt32, PCMFloat32:
		return 4
	case PCMFloat64:
		return 8
	}
	return 0
}

func (e SampleEncoding) String() string {
	switch e {
	case PCMUint8:
		return "u8"
	case PCMInt16:
		return "s16le"
	case PCMInt24:
		return "s24le"
	case PCMInt32:
		return "s32le"
	case PCMFloat32:
		return "f32le"
	case PCMFloat64:
		return "f64le"
	}
	return fmt.Sprintf("SampleEncoding(%d)", uint8(e))
}

// WAVInfo describes a WAV file's audio.
type WAVInfo struct {
	RateHz   int
	Channels int
	Encoding SampleEncoding
	// DataOffset is the byte offset of the first sample; DataBytes the size
	// of the data chunk (-1: to the end of the file, as streaming writers
	// leave it).
	DataOffset int64
	DataBytes  int64
}

// Frames returns the number of audio frames in the data chunk (-1 when
// unknown).
func (w WAVInfo) Frames() int64 {
	if w.DataBytes < 0 {
		return -1
	}
	return w.DataBytes / int64(w.Channels*w.Encoding.Size())
}

const (
	wavFormatPCM        = 1
	wavFormatFloat      = 3
	wavFormatExtensible = 0xFFFE
	maxWAVChannels      = 64
	maxWAVRateHz        = 1 << 20
	// maxSkippedChunk bounds the chunks skipped before "data", so a corrupt
	// size cannot make the parser read forever.
	maxSkippedChunk = 64 << 20
)

// ParseWAVHeader reads a RIFF/WAVE header from r up to the first sample of
// the data chunk, and leaves r there. It accepts PCM (8, 16, 24, 32 bit),
// IEEE float (32, 64 bit) and WAVE_FORMAT_EXTENSIBLE with either subtype;
// other chunks before "data" are skipped. Errors wrap ErrNotWAV and name the
// byte offset of the problem.
func ParseWAVHeader(r io.Reader) (WAVInfo, error) {
	var info WAVInfo
	var off int64
	var hdr [12]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return info, wavErr(0, "short RIFF header: %v", err)
	}
	off = 12
	if string(hdr[0:4]) != "RIFF" && string(hdr[0:4]) != "RF64" {
		return info, wavErr(0, "no RIFF signature (got %q)", hdr[0:4])
	}
	if string(hdr[8:12]) != "WAVE" {
		return info, wavErr(8, "RIFF form is %q, not WAVE", hdr[8:12])
	}
	haveFmt := false
	for {
		var ch [8]byte
		if _, err := io.ReadFull(r, ch[:]); err != nil {
			return info, wavErr(off, "no data chunk before the end: %v", err)
		}
		id := string(ch[0:4])
		size := int64(binary.LittleEndian.Uint32(ch[4:8]))
		chunkAt := off
		off += 8
		switch id {
		case "fmt ":
			if size < 16 || size > 1024 {
				return info, wavErr(chunkAt, "fmt chunk of %d bytes", size)
			}
			buf := make([]byte, size+size&1)
			if _, err := io.ReadFull(r, buf); err != nil {
				return info, wavErr(off, "short fmt chunk: %v", err)
			}
			if err := parseFmt(buf[:size], chunkAt, &info); err != nil {
				return info, err
			}
			off += int64(len(buf))
			haveFmt = true
		case "data":
			if !haveFmt {
				return info, wavErr(chunkAt, "data chunk before the fmt chunk")
			}
			info.DataOffset = off
			info.DataBytes = size
			if size == 0xFFFFFFFF || (size == 0 && string(hdr[0:4]) == "RF64") {
				info.DataBytes = -1
			} else {
				frame := int64(info.Channels * info.Encoding.Size())
				info.DataBytes = size / frame * frame
			}
			return info, nil
		default:
			skip := size + size&1
			if skip > maxSkippedChunk {
				return info, wavErr(chunkAt, "chunk %q of %d bytes is too large to skip", id, size)
			}
			n, err := io.CopyN(io.Discard, r, skip)
			off += n
			if err != nil {
				return info, wavErr(off, "short %q chunk: %v", id, err)
			}
		}
	}
}

func parseFmt(b []byte, at int64, info *WAVInfo) error {
	format := binary.LittleEndian.Uint16(b[0:2])
	channels := int(binary.LittleEndian.Uint16(b[2:4]))
	rate := binary.LittleEndian.Uint32(b[4:8])
	blockAlign := int(binary.LittleEndian.Uint16(b[12:14]))
	bits := int(binary.LittleEndian.Uint16(b[14:16]))
	if format == wavFormatExtensible {
		if len(b) < 40 {
			return wavErr(at, "extensible fmt chunk of %d bytes, want 40", len(b))
		}
		// The subformat GUID's first two bytes are the format tag.
		format = binary.LittleEndian.Uint16(b[24:26])
	}
	if channels < 1 || channels > maxWAVChannels {
		return wavErr(at, "%d channels (want 1..%d)", channels, maxWAVChannels)
	}
	if rate < 1 || rate > maxWAVRateHz {
		return wavErr(at, "sample rate %d Hz", rate)
	}
	var enc SampleEncoding
	switch {
	case format == wavFormatPCM && bits == 8:
		enc = PCMUint8
	case format == wavFormatPCM && bits == 16:
		enc = PCMInt16
	case format == wavFormatPCM && bits == 24:
		enc = PCMInt24
	case format == wavFormatPCM && bits == 32:
		enc = PCMInt32
	case format == wavFormatFloat && bits == 32:
		enc = PCMFloat32
	case format == wavFormatFloat && bits == 64:
		enc = PCMFloat64
	default:
		return wavErr(at, "format tag %d with %d bits per sample is not supported (PCM 8/16/24/32 or float 32/64)", format, bits)
	}
	if blockAlign != channels*enc.Size() {
		return wavErr(at, "block align %d, want %d for %d channels of %s", blockAlign, channels*enc.Size(), channels, enc)
	}
	info.RateHz, info.Channels, info.Encoding = int(rate), channels, enc
	return nil
}

func wavErr(off int64, format string, args ...any) error {
	return fmt.Errorf("%w: at byte %d: %s", ErrNotWAV, off, fmt.Sprintf(format, args...))
}

// decodePCM converts whole samples of encoding e in src to float32 in dst
// and returns how many it wrote (min of len(dst) and the samples in src).
func decodePCM(e SampleEncoding, src []byte, dst []float32) int {
	n := min(len(dst), len(src)/e.Size())
	switch e {
	case PCMUint8:
		for i := range n {
			dst[i] = (float32(src[i]) - 128) / 128
		}
	case PCMInt16:
		for i := range n {
			dst[i] = float32(int16(binary.LittleEndian.Uint16(src[2*i:]))) / (1 << 15)
		}
	case PCMInt24:
		for i := range n {
			b := src[3*i:]
			v := int32(uint32(b[0])<<8|uint32(b[1])<<16|uint32(b[2])<<24) >> 8
			dst[i] = float32(v) / (1 << 23)
		}
	case PCMInt32:
		for i := range n {
			dst[i] = float32(float64(int32(binary.LittleEndian.Uint32(src[4*i:]))) / (1 << 31))
		}
	case PCMFloat32:
		for i := range n {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
		}
	case PCMFloat64:
		for i := range n {
			dst[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(src[8*i:])))
		}
	}
	return n
}
