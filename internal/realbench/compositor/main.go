// Command compositor writes the frames of a composite clip of the
// real-media benchmark as raw BGR24 on standard output (or -out): real
// video (scaled, at -fps) as the background, and over it a real face
// photograph whose mouth opens with the voice's envelope. ffmpeg encodes
// the frames and muxes the sound (scripts/make-real-bench.sh):
//
//	compositor -photo messi5.jpg -cascade haarcascade_frontalface_default.xml \
//	  -background vtest.avi -background-start 12 -voice voice.s16 -voice-rate 16000 \
//	  -duration 20 | ffmpeg -f rawvideo -pix_fmt bgr24 -s 640x480 -r 25 -i - ...
//
// With -detect it prints the face box it found in the photo and exits.
package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"image"
	"io"
	"math"
	"os"

	"gocv.io/x/gocv"

	"github.com/seed-4c364652/fusiond/internal/realbench"
)

type options struct {
	photo, cascade, background, voice, out string
	backgroundStartS, durationS, fps       float64
	voiceRateHz, width, height, faceW      int
	swayPx, swayPeriodS                    float64
	detect                                 bool
}

func main() {
	var o options
	flag.StringVar(&o.photo, "photo", "", "face photograph (any image OpenCV reads)")
	flag.StringVar(&o.cascade, "cascade", "/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml", "OpenCV cascade that finds the face in the photo")
	flag.StringVar(&o.background, "background", "", "background video")
	flag.Float64Var(&o.backgroundStartS, "background-start", 0, "seconds into the background video to start at")
	flag.StringVar(&o.voice, "voice", "", "the clean voice: raw signed 16-bit little-endian mono")
	flag.IntVar(&o.voiceRateHz, "voice-rate", 16000, "sample rate of -voice, Hz")
	flag.Float64Var(&o.durationS, "duration", 20, "clip length, seconds")
	flag.Float64Var(&o.fps, "fps", 25, "output frame rate")
	flag.IntVar(&o.width, "width", 640, "output width, pixels")
	flag.IntVar(&o.height, "height", 480, "output height, pixels")
	flag.IntVar(&o.faceW, "face-width", 140, "width of the face box in the output, pixels")
	flag.Float64Var(&o.swayPx, "sway", 4, "the head sways sideways by this many pixels each way")
	flag.Float64Var(&o.swayPeriodS, "sway-period", 6, "period of the sway, seconds")
	flag.StringVar(&o.out, "out", "-", "where the raw BGR24 frames go (- for standard output)")
	flag.BoolVar(&o.detect, "detect", false, "print the face box found in -photo and exit")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "compositor:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	photo := gocv.IMRead(o.photo, gocv.IMReadColor)
	defer photo.Close()
	if photo.Empty() {
		return fmt.Errorf("read photo %q", o.photo)
	}
	face, err := realbench.DetectFace(photo, o.cascade)
	if err != nil {
		return fmt.Errorf("%s: %w", o.photo, err)
	}
	if o.detect {
		fmt.Printf("%s\t%d\t%d\t%d\t%d\n", o.photo, face.Min.X, face.Min.Y, face.Dx(), face.Dy())
		return nil
	}
	head, err := realbench.NewHead(photo, face, o.faceW)
	if err != nil {
		return err
	}
	defer head.Close()
	voice, err := readS16(o.voice)
	if err != nil {
		return err
	}
	frames := int(math.Round(o.durationS * o.fps))
	open := realbench.Envelope(voice, o.voiceRateHz, o.fps, frames)

	bg, err := gocv.VideoCaptureFile(o.background)
	if err != nil {
		return fmt.Errorf("open background %q: %w", o.background, err)
	}
	defer bg.Close()
	bgFPS := bg.Get(gocv.VideoCaptureFPS)
	if bgFPS <= 0 {
		return fmt.Errorf("background %q: no frame rate", o.background)
	}
	var w io.Writer = os.Stdout
	if o.out != "-" {
		f, err := os.Create(o.out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	bw := bufio.NewWriterSize(w, 1<<20)

	src, frame := gocv.NewMat(), gocv.NewMat()
	defer src.Close()
	defer frame.Close()
	read := -1 // index of the background frame in src
	size := head.Size()
	for i := range frames {
		t := float64(i) / o.fps
		// The background frame shown at t: the last one whose time has come.
		want := int(math.Floor((o.backgroundStartS+t)*bgFPS + 1e-9))
		for read < want {
			if !bg.Read(&src) || src.Empty() {
				return fmt.Errorf("background %q ends before frame %d (%.2f s)", o.background, want, float64(want)/bgFPS)
			}
			read++
		}
		gocv.Resize(src, &frame, image.Pt(o.width, o.height), 0, 0, gocv.InterpolationArea)
		sway := int(math.Round(o.swayPx * math.Sin(2*math.Pi*t/o.swayPeriodS)))
		at := image.Pt((o.width-size.X)/2+sway, (o.height-size.Y)/2)
		if err := head.Draw(&frame, at, open[i]); err != nil {
			return err
		}
		b, err := frame.DataPtrUint8()
		if err != nil {
			return err
		}
		if _, err := bw.Write(b); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// readS16 reads raw signed 16-bit little-endian samples.
func readS16(path string) ([]int16, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b)%2 != 0 {
		return nil, errors.New(path + ": odd number of bytes for 16-bit samples")
	}
	s := make([]int16, len(b)/2)
	if err := binary.Read(bytes.NewReader(b), binary.LittleEndian, s); err != nil {
		return nil, err
	}
	return s, nil
}
