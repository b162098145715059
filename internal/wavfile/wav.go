package wavfile

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"os"
)

// WAV is a whole file's audio.
type WAV struct {
	RateHz, Channels int
	Data             []float32 // interleaved, in [-1, 1)
}

// Frames is the number of sample frames.
func (w *WAV) Frames() int { return len(w.Data) / w.Channels }

// Read reads a 16-bit PCM WAV file.
func Read(path string) (*WAV, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	w, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return w, nil
}

// Parse decodes a 16-bit PCM WAV file's bytes: the fmt chunk, then the
// data chunk (a truncated one is read as far as it goes).
func Parse(b []byte) (*WAV, error) {
	if len(b) < 12 || string(b[:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return nil, fmt.Errorf("not a RIFF WAVE file")
	}
	w := &WAV{}
	bits := 0
	for p := 12; p+8 <= len(b); {
		id, n := string(b[p:p+4]), int(binary.LittleEndian.Uint32(b[p+4:]))
		body := b[p+8 : min(len(b), p+8+n)]
		switch id {
		case "fmt ":
			if len(body) < 16 || binary.LittleEndian.Uint16(body) != 1 {
				return nil, fmt.Errorf("not PCM")
			}
			w.Channels = int(binary.LittleEndian.Uint16(body[2:]))
			w.RateHz = int(binary.LittleEndian.Uint32(body[4:]))
			bits = int(binary.LittleEndian.Uint16(body[14:]))
		case "data":
			if bits != 16 {
				return nil, fmt.Errorf("%d-bit samples, want 16", bits)
			}
			if w.Channels == 0 {
				return nil, fmt.Errorf("0 channels")
			}
			w.Data = make([]float32, len(body)/2)
			for i := range w.Data {
				w.Data[i] = float32(int16(binary.LittleEndian.Uint16(body[2*i:]))) / 32768
			}
			return w, nil
		}
		p += 8 + n + n%2
	}
	return nil, fmt.Errorf("no data chunk")
}

// Write writes data (interleaved, clipped to [-1, 1]) as a 16-bit PCM WAV.
func Write(path string, rateHz, channels int, data []float32) error {
	var b bytes.Buffer
	n := len(data) * 2
	b.WriteString("RIFF")
	binary.Write(&b, binary.LittleEndian, uint32(36+n))
	b.WriteString("WAVEfmt ")
	for _, v := range []any{uint32(16), uint16(1), uint16(channels), uint32(rateHz), uint32(rateHz * channels * 2), uint16(channels * 2), uint16(16)} {
		binary.Write(&b, binary.LittleEndian, v)
	}
	b.WriteString("data")
	binary.Write(&b, binary.LittleEndian, uint32(n))
	for _, v := range data {
		binary.Write(&b, binary.LittleEndian, int16(math.Round(float64(max(-1, min(1, v)))*32767)))
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}
