package realbench

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"gocv.io/x/gocv"
)

const cascade = "/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml"

// media returns a file fetched by scripts/fetch-media.sh, or skips.
func media(t *testing.T, pkg, rel string) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	p := filepath.Join(filepath.Dir(file), "..", "..", ".cache", "media", pkg, rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("%s not fetched (scripts/fetch-media.sh %s): %v", rel, pkg, err)
	}
	return p
}

func TestDetectFace(t *testing.T) {
	if _, err := os.Stat(cascade); err != nil {
		t.Skip("no OpenCV cascades:", err)
	}
	html := "usr/share/doc/opencv-doc/opencv4/html/"
	tests := []struct {
		pkg, rel string
		want     image.Rectangle // the box this cascade finds (known answer)
	}{
		{"python3-skimage", "usr/lib/python3/dist-packages/skimage/data/astronaut.png", image.Rect(177, 67, 270, 160)},
		{"opencv-doc", html + "230501201_1.jpg", image.Rect(116, 213, 486, 583)},
		{"opencv-doc", html + "227943776_1.jpg", image.Rect(114, 95, 300, 281)},
	}
	for _, tc := range tests {
		t.Run(filepath.Base(tc.rel), func(t *testing.T) {
			photo := gocv.IMRead(media(t, tc.pkg, tc.rel), gocv.IMReadColor)
			defer photo.Close()
			got, err := DetectFace(photo, cascade)
			if err != nil || got != tc.want {
				t.Fatalf("DetectFace = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
	t.Run("no face", func(t *testing.T) {
		blank := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(128, 128, 128, 0), 200, 200, gocv.MatTypeCV8UC3)
		defer blank.Close()
		if _, err := DetectFace(blank, cascade); !errors.Is(err, ErrNoFace) {
			t.Fatalf("blank image: err = %v, want ErrNoFace", err)
		}
	})
}

// synthPhoto is a 200×200 photo: a vertical luma ramp with a light "face"
// square at (60,60)-(140,140).
func synthPhoto() gocv.Mat {
	m := gocv.NewMatWithSize(200, 200, gocv.MatTypeCV8UC3)
	for y := range 200 {
		for x := range 200 {
			v := uint8(y)
			if x >= 60 && x < 140 && y >= 60 && y < 140 {
				v = 200
			}
			m.SetUCharAt(y, x*3, v)
			m.SetUCharAt(y, x*3+1, v)
			m.SetUCharAt(y, x*3+2, v)
		}
	}
	return m
}

func TestHeadDraw(t *testing.T) {
	photo := synthPhoto()
	defer photo.Close()
	face := image.Rect(60, 60, 140, 140)
	h, err := NewHead(photo, face, 40) // half size
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if got, want := h.Face(), image.Rect(18, 22, 58, 62); got != want {
		t.Fatalf("face in the head = %v, want %v", got, want)
	}
	draw := func(open float64) gocv.Mat {
		bg := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(0, 255, 0, 0), 120, 160, gocv.MatTypeCV8UC3)
		if err := h.Draw(&bg, image.Pt(10, 5), open); err != nil {
			t.Fatal(err)
		}
		return bg
	}
	closed, open, again := draw(0), draw(1), draw(1)
	defer closed.Close()
	defer open.Close()
	defer again.Close()
	if !bytes.Equal(open.ToBytes(), again.ToBytes()) {
		t.Fatal("two draws of the same opening differ")
	}
	at := func(m gocv.Mat, x, y int) color.RGBA { // head coordinates
		v := m.GetVecbAt(y+5, x+10)
		return color.RGBA{R: v[2], G: v[1], B: v[0]}
	}
	f := h.Face()
	cx, lip := (f.Min.X+f.Max.X)/2, f.Min.Y+int(lipLineY*float64(f.Dy()))
	green := color.RGBA{G: 255}
	if c := at(closed, 0, 0); c != green {
		t.Errorf("corner outside the head's ellipse = %v, want the background", c)
	}
	if c := at(closed, cx, f.Min.Y+10); c.R != 200 {
		t.Errorf("the face = %v, want its luma 200", c)
	}
	if c := at(closed, cx, lip+1); c.R != 200 {
		t.Errorf("closed mouth = %v, want the face's 200", c)
	}
	if c := at(open, cx, lip+1); c != mouthColour {
		t.Errorf("open mouth = %v, want %v", c, mouthColour)
	}
	for y := f.Min.Y; y < lip-1; y++ { // above the lips nothing moves
		if a, b := at(closed, cx, y), at(open, cx, y); a != b {
			t.Fatalf("row %d above the lips changed with the mouth: %v → %v", y, a, b)
		}
	}
	bg := gocv.NewMatWithSize(50, 50, gocv.MatTypeCV8UC3)
	defer bg.Close()
	if err := h.Draw(&bg, image.Pt(0, 0), 0); err == nil {
		t.Error("a head larger than the frame drew without an error")
	}
	if _, err := NewHead(photo, image.Rectangle{}, 40); err == nil {
		t.Error("an empty face made a head")
	}
}
