package media_test

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/seed-4c364652/fusiond/ingest/media"
)

func ExampleParseWAVHeader() {
	// A 44-byte header for 16 kHz mono 16-bit PCM with 4 frames of data.
	var b bytes.Buffer
	le := binary.LittleEndian
	b.WriteString("RIFF")
	binary.Write(&b, le, uint32(36+8))
	b.WriteString("WAVEfmt ")
	binary.Write(&b, le, []uint32{16})
	binary.Write(&b, le, []uint16{1, 1})         // PCM, mono
	binary.Write(&b, le, []uint32{16000, 32000}) // rate, bytes per second
	binary.Write(&b, le, []uint16{2, 16})        // block align, bits
	b.WriteString("data")
	binary.Write(&b, le, uint32(8))
	b.Write(make([]byte, 8))

	info, err := media.ParseWAVHeader(&b)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%d Hz, %d channel(s), %s, %d frames from byte %d\n",
		info.RateHz, info.Channels, info.Encoding, info.Frames(), info.DataOffset)

	_, err = media.ParseWAVHeader(bytes.NewReader([]byte("ID3\x04 an mp3 file")))
	fmt.Println(err)
	// Output:
	// 16000 Hz, 1 channel(s), s16le, 4 frames from byte 44
	// not a supported WAV file: at byte 0: no RIFF signature (got "ID3\x04")
}
