package media

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"testing"
)

// makeWAV builds a WAV file: format tag, channels, rate, bits, data, and
// optional chunks before "fmt " and between "fmt " and "data".
func makeWAV(tag uint16, channels, rate, bits int, data []byte, extra ...[]byte) []byte {
	var fmtc bytes.Buffer
	le := binary.LittleEndian
	w16 := func(b *bytes.Buffer, v uint16) { _ = binary.Write(b, le, v) }
	w32 := func(b *bytes.Buffer, v uint32) { _ = binary.Write(b, le, v) }
	block := channels * bits / 8
	w16(&fmtc, tag)
	w16(&fmtc, uint16(channels))
	w32(&fmtc, uint32(rate))
	w32(&fmtc, uint32(rate*block))
	w16(&fmtc, uint16(block))
	w16(&fmtc, uint16(bits))
	if tag == wavFormatExtensible {
		w16(&fmtc, 22)
		w16(&fmtc, uint16(bits))
		w32(&fmtc, 0)
		sub := make([]byte, 16)
		le.PutUint16(sub, wavFormatPCM)
		fmtc.Write(sub)
	}
	var body bytes.Buffer
	body.WriteString("WAVE")
	for _, e := range extra {
		body.Write(e)
	}
	body.WriteString("fmt ")
	w32(&body, uint32(fmtc.Len()))
	body.Write(fmtc.Bytes())
	body.WriteString("data")
	w32(&body, uint32(len(data)))
	body.Write(data)
	var out bytes.Buffer
	out.WriteString("RIFF")
	w32(&out, uint32(body.Len()))
	out.Write(body.Bytes())
	return out.Bytes()
}

func TestParseWAVHeader(t *testing.T) {
	list := []byte("LIST\x05\x00\x00\x00abcde\x00") // odd size: padded
	for _, tc := range []struct {
		name string
		file []byte
		want WAVInfo
	}{
		{"s16 mono", makeWAV(1, 1, 16000, 16, make([]byte, 320)), WAVInfo{16000, 1, PCMInt16, 44, 320}},
		{"u8 stereo", makeWAV(1, 2, 8000, 8, make([]byte, 10)), WAVInfo{8000, 2, PCMUint8, 44, 10}},
		{"s24", makeWAV(1, 2, 48000, 24, make([]byte, 12)), WAVInfo{48000, 2, PCMInt24, 44, 12}},
		{"f32", makeWAV(3, 1, 44100, 32, make([]byte, 8)), WAVInfo{44100, 1, PCMFloat32, 44, 8}},
		{"f64", makeWAV(3, 1, 44100, 64, make([]byte, 16)), WAVInfo{44100, 1, PCMFloat64, 44, 16}},
		{"extensible", makeWAV(wavFormatExtensible, 2, 48000, 16, make([]byte, 8)), WAVInfo{48000, 2, PCMInt16, 68, 8}},
		{"list chunk first", makeWAV(1, 1, 16000, 16, make([]byte, 4), list), WAVInfo{16000, 1, PCMInt16, 58, 4}},
		{"partial last frame", makeWAV(1, 2, 16000, 16, make([]byte, 7)), WAVInfo{16000, 2, PCMInt16, 44, 4}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseWAVHeader(bytes.NewReader(tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestParseWAVHeaderErrors(t *testing.T) {
	good := makeWAV(1, 1, 16000, 16, make([]byte, 4))
	bad := func(f func(b []byte)) []byte {
		b := bytes.Clone(good)
		f(b)
		return b
	}
	for _, tc := range []struct {
		name, wantIn string
		file         []byte
	}{
		{"empty", "at byte 0", nil},
		{"not riff", "no RIFF", bad(func(b []byte) { copy(b, "RIFX") })},
		{"not wave", "not WAVE", bad(func(b []byte) { copy(b[8:], "AVI ") })},
		{"truncated in fmt", "short fmt", good[:30]},
		{"no data", "no data chunk", good[:36]},
		{"mp3 tag", "format tag 85", bad(func(b []byte) { b[20] = 85 })},
		{"zero channels", "0 channels", bad(func(b []byte) { b[22] = 0 })},
		{"bad block align", "block align", bad(func(b []byte) { b[32] = 3 })},
		{"data before fmt", "before the fmt", append([]byte("RIFF\x00\x00\x00\x00WAVEdata\x00\x00\x00\x00"), good[12:]...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseWAVHeader(bytes.NewReader(tc.file))
			if !errors.Is(err, ErrNotWAV) || !bytes.Contains([]byte(err.Error()), []byte(tc.wantIn)) {
				t.Fatalf("err = %v, want ErrNotWAV mentioning %q", err, tc.wantIn)
			}
		})
	}
}

func TestDecodePCM(t *testing.T) {
	le := binary.LittleEndian
	var s16, s24, s32, f32, f64 []byte
	s16 = le.AppendUint16(le.AppendUint16(s16, 0x8000), 0x4000)
	s24 = append(s24, 0x00, 0x00, 0x80, 0x00, 0x00, 0x40)
	s32 = le.AppendUint32(le.AppendUint32(s32, 0x80000000), 0x40000000)
	f32 = le.AppendUint32(le.AppendUint32(f32, math.Float32bits(-1)), math.Float32bits(0.5))
	f64 = le.AppendUint64(le.AppendUint64(f64, math.Float64bits(-1)), math.Float64bits(0.5))
	for _, tc := range []struct {
		enc SampleEncoding
		src []byte
	}{
		{PCMUint8, []byte{0, 192}}, {PCMInt16, s16}, {PCMInt24, s24}, {PCMInt32, s32}, {PCMFloat32, f32}, {PCMFloat64, f64},
	} {
		dst := make([]float32, 2)
		if n := decodePCM(tc.enc, tc.src, dst); n != 2 || dst[0] != -1 || dst[1] != 0.5 {
			t.Errorf("%v: decoded %d samples %v, want [-1 0.5]", tc.enc, n, dst)
		}
	}
}

func FuzzParseWAVHeader(f *testing.F) {
	f.Add(makeWAV(1, 1, 16000, 16, make([]byte, 320)))
	f.Add(makeWAV(wavFormatExtensible, 2, 48000, 24, make([]byte, 12)))
	f.Add(makeWAV(3, 1, 44100, 32, make([]byte, 8), []byte("LIST\x05\x00\x00\x00abcde\x00")))
	f.Add([]byte("RIFF\xff\xff\xff\xffWAVEfmt "))
	f.Fuzz(func(t *testing.T, b []byte) {
		info, err := ParseWAVHeader(bytes.NewReader(b))
		if err != nil {
			if !errors.Is(err, ErrNotWAV) {
				t.Fatalf("error %v does not wrap ErrNotWAV", err)
			}
			return
		}
		if info.Channels < 1 || info.RateHz < 1 || info.Encoding.Size() == 0 || info.DataOffset > int64(len(b)) {
			t.Fatalf("accepted a nonsensical header: %+v", info)
		}
		if info.DataBytes >= 0 && info.DataBytes%int64(info.Channels*info.Encoding.Size()) != 0 {
			t.Fatalf("data size %d is not whole frames", info.DataBytes)
		}
		// Decoding whatever data there is must not panic.
		data := b[info.DataOffset:]
		dst := make([]float32, len(data))
		decodePCM(info.Encoding, data, dst)
	})
}
