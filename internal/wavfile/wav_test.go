package wavfile

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRoundTrip: Write then Read gives the samples back on the 16-bit
// grid, clipped to [-1, 1].
func TestRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.wav")
	in := []float32{0, 0.5, -0.5, 1, -1, 2, -2, 0.25}
	if err := Write(path, 48000, 2, in); err != nil {
		t.Fatal(err)
	}
	w, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if w.RateHz != 48000 || w.Channels != 2 || w.Frames() != 4 {
		t.Fatalf("got %d Hz × %d, %d frames", w.RateHz, w.Channels, w.Frames())
	}
	want := []float32{0, 16384. / 32768, -16384. / 32768, 32767. / 32768, -32767. / 32768, 32767. / 32768, -32767. / 32768, 8192. / 32768}
	for i := range want {
		if w.Data[i] != want[i] {
			t.Errorf("sample %d: %v, want %v", i, w.Data[i], want[i])
		}
	}
}

func TestParseErrors(t *testing.T) {
	fmtChunk := func(tag, bits uint16) []byte {
		b := []byte("fmt ")
		b = binary.LittleEndian.AppendUint32(b, 16)
		b = binary.LittleEndian.AppendUint16(b, tag)
		b = binary.LittleEndian.AppendUint16(b, 1)
		b = binary.LittleEndian.AppendUint32(b, 8000)
		b = binary.LittleEndian.AppendUint32(b, 16000)
		b = binary.LittleEndian.AppendUint16(b, 2)
		return binary.LittleEndian.AppendUint16(b, bits)
	}
	riff := func(chunks ...[]byte) []byte {
		b := []byte("RIFF\x00\x00\x00\x00WAVE")
		for _, c := range chunks {
			b = append(b, c...)
		}
		return b
	}
	data := []byte("data\x02\x00\x00\x00\x01\x00")
	for _, tc := range []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "not a RIFF WAVE"},
		{"float", riff(fmtChunk(3, 32), data), "not PCM"},
		{"8-bit", riff(fmtChunk(1, 8), data), "8-bit samples"},
		{"no data", riff(fmtChunk(1, 16)), "no data chunk"},
		{"data first", riff(data), "0-bit samples"},
	} {
		_, err := Parse(tc.b)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	if _, err := Read(filepath.Join(t.TempDir(), "none.wav")); !os.IsNotExist(err) {
		t.Errorf("missing file: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	path := filepath.Join(f.TempDir(), "s.wav")
	if err := Write(path, 16000, 1, []float32{0.1, -0.2, 0.3}); err != nil {
		f.Fatal(err)
	}
	seed, _ := os.ReadFile(path)
	f.Add(seed)
	f.Add([]byte("RIFF\x00\x00\x00\x00WAVE"))
	f.Fuzz(func(t *testing.T, b []byte) {
		w, err := Parse(b)
		if err == nil && (w.Channels <= 0 || w.Frames()*w.Channels > len(w.Data)) {
			t.Fatalf("accepted %d channels, %d samples", w.Channels, len(w.Data))
		}
	})
}
