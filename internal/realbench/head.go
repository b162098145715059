package realbench

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"

	"gocv.io/x/gocv"
)

// ErrNoFace is returned when the cascade finds no frontal face in a photo.
var ErrNoFace = errors.New("realbench: no frontal face in the photograph")

// Face geometry, as fractions of the detector's face box: the head cut out
// around it, the line between the lips, the jaw that drops below it and the
// widest mouth gap.
const (
	cropLeft, cropRight  = 0.45, 0.45 // beyond the face box, each side
	cropTop, cropBottom  = 0.55, 0.50
	lipLineY             = 0.80 // lips meet this far down the box
	jawHalfWidth         = 0.24
	jawHeight            = 0.22
	mouthHalfWidth       = 0.16
	maxGapOfFaceHeight   = 0.10
	headMaskHalfWidthOfW = 0.78
	headMaskHalfHeightOH = 1.00
)

// mouthColour is the dark red-brown of an open mouth.
var mouthColour = color.RGBA{R: 40, G: 18, B: 22}

// Head is a face cut out of a photograph and scaled, ready to be drawn
// with its mouth open by any amount. Close releases its OpenCV memory.
type Head struct {
	img, mask, work gocv.Mat
	face            image.Rectangle // the face box in img
}

// DetectFace returns the largest face the cascade file finds in photo.
func DetectFace(photo gocv.Mat, cascadePath string) (image.Rectangle, error) {
	c := gocv.NewCascadeClassifier()
	defer c.Close()
	if !c.Load(cascadePath) {
		return image.Rectangle{}, fmt.Errorf("realbench: load cascade %s", cascadePath)
	}
	grey := gocv.NewMat()
	defer grey.Close()
	gocv.CvtColor(photo, &grey, gocv.ColorBGRToGray)
	gocv.EqualizeHist(grey, &grey)
	var best image.Rectangle
	for _, r := range c.DetectMultiScaleWithParams(grey, 1.1, 5, 0, image.Pt(24, 24), image.Pt(0, 0)) {
		if a, b := r.Dx()*r.Dy(), best.Dx()*best.Dy(); a > b || a == b && r.Min.X < best.Min.X {
			best = r
		}
	}
	if best.Empty() {
		return best, ErrNoFace
	}
	return best, nil
}

// NewHead cuts the head around face out of photo and scales it so that the
// face box is faceWidthPx wide.
func NewHead(photo gocv.Mat, face image.Rectangle, faceWidthPx int) (*Head, error) {
	if face.Empty() || faceWidthPx <= 0 {
		return nil, fmt.Errorf("realbench: head: empty face %v or width %d", face, faceWidthPx)
	}
	fw, fh := float64(face.Dx()), float64(face.Dy())
	crop := image.Rect(
		face.Min.X-int(cropLeft*fw), face.Min.Y-int(cropTop*fh),
		face.Max.X+int(cropRight*fw), face.Max.Y+int(cropBottom*fh),
	).Intersect(image.Rect(0, 0, photo.Cols(), photo.Rows()))
	s := float64(faceWidthPx) / fw
	size := image.Pt(int(math.Round(float64(crop.Dx())*s)), int(math.Round(float64(crop.Dy())*s)))
	roi := photo.Region(crop)
	defer roi.Close()
	h := &Head{img: gocv.NewMat(), mask: gocv.NewMatWithSize(size.Y, size.X, gocv.MatTypeCV8U), work: gocv.NewMat()}
	interp := gocv.InterpolationArea
	if s > 1 {
		interp = gocv.InterpolationLinear
	}
	gocv.Resize(roi, &h.img, size, 0, 0, interp)
	scaled := func(x, y int) image.Point {
		return image.Pt(int(math.Round(float64(x-crop.Min.X)*s)), int(math.Round(float64(y-crop.Min.Y)*s)))
	}
	h.face = image.Rectangle{Min: scaled(face.Min.X, face.Min.Y), Max: scaled(face.Max.X, face.Max.Y)}
	// The head: an ellipse around the face box, reaching up to the hair
	// and down to the neck.
	sw, sh := float64(h.face.Dx()), float64(h.face.Dy())
	centre := image.Pt((h.face.Min.X+h.face.Max.X)/2, h.face.Min.Y+int(0.55*sh))
	gocv.Ellipse(&h.mask, centre, image.Pt(int(headMaskHalfWidthOfW*sw), int(headMaskHalfHeightOH*sh)), 0, 0, 360, color.RGBA{R: 255, G: 255, B: 255}, -1)
	return h, nil
}

// Size is the head image's size in pixels.
func (h *Head) Size() image.Point { return image.Pt(h.img.Cols(), h.img.Rows()) }

// Face is the face box within the head image.
func (h *Head) Face() image.Rectangle { return h.face }

// Draw draws the head into dst with its top-left corner at at (the head
// must fit), the mouth open by open (0 … 1).
func (h *Head) Draw(dst *gocv.Mat, at image.Point, open float64) error {
	r := image.Rectangle{Min: at, Max: at.Add(h.Size())}
	if !r.In(image.Rect(0, 0, dst.Cols(), dst.Rows())) {
		return fmt.Errorf("realbench: head at %v does not fit a %dx%d frame", r, dst.Cols(), dst.Rows())
	}
	h.img.CopyTo(&h.work)
	OpenMouth(&h.work, h.face, open)
	roi := dst.Region(r)
	defer roi.Close()
	h.work.CopyToWithMask(&roi, h.mask)
	return nil
}

// Close releases the OpenCV memory.
func (h *Head) Close() {
	h.img.Close()
	h.mask.Close()
	h.work.Close()
}

// OpenMouth opens the mouth of the face with box face in img by open
// (0 closed … 1 fully open): the jaw below the lip line moves down by up to
// maxGapOfFaceHeight of the face's height and the gap it leaves is dark.
func OpenMouth(img *gocv.Mat, face image.Rectangle, open float64) {
	fw, fh := float64(face.Dx()), float64(face.Dy())
	gap := int(math.Round(min(1, max(0, open)) * maxGapOfFaceHeight * fh))
	if gap < 1 {
		return
	}
	cx := (face.Min.X + face.Max.X) / 2
	lip := face.Min.Y + int(lipLineY*fh)
	jaw := image.Rect(cx-int(jawHalfWidth*fw), lip, cx+int(jawHalfWidth*fw), lip+int(jawHeight*fh)).
		Intersect(image.Rect(0, 0, img.Cols(), img.Rows()))
	if jaw.Dy() <= gap {
		return
	}
	// Copy the jaw (less its bottom gap rows) gap rows down, through an
	// elliptical mask so that its edges blend into the cheeks.
	src := img.Region(image.Rect(jaw.Min.X, jaw.Min.Y, jaw.Max.X, jaw.Max.Y-gap))
	moved := src.Clone()
	src.Close()
	defer moved.Close()
	mask := gocv.NewMatWithSize(moved.Rows(), moved.Cols(), gocv.MatTypeCV8U)
	defer mask.Close()
	gocv.Ellipse(&mask, image.Pt(moved.Cols()/2, 0), image.Pt(moved.Cols()/2, moved.Rows()), 0, 0, 180, color.RGBA{R: 255, G: 255, B: 255}, -1)
	dst := img.Region(image.Rect(jaw.Min.X, jaw.Min.Y+gap, jaw.Max.X, jaw.Max.Y))
	moved.CopyToWithMask(&dst, mask)
	dst.Close()
	gocv.Ellipse(img, image.Pt(cx, lip+gap/2), image.Pt(int(mouthHalfWidth*fw), max(1, (gap+1)/2)), 0, 0, 360, mouthColour, -1)
}
