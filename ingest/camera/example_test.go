//go:build !nosensors

package camera_test

import (
	"context"
	"fmt"

	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/ingest/camera"
)

func ExampleCamera_Run() {
	// A GStreamer test camera: 10 frames of 320×240 BGR through OpenCV.
	cam, err := camera.New(camera.Config{
		Stream: "cam0",
		Kind:   camera.GStreamer,
		Target: "videotestsrc num-buffers=10 ! video/x-raw,width=320,height=240 ! videoconvert ! video/x-raw,format=BGR ! appsink",
		Frames: 10,
	}, av.NewRealClock(), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	q := av.NewQueue[av.Sample]("capture:cam0", 16, av.Block, nil)
	if err := cam.Run(context.Background(), q, 0); err != nil {
		fmt.Println(err)
	}
	q.Close()
	for s := range q.C() {
		f := s.(*av.Frame)
		if f.Seq == 9 {
			fmt.Println(f.Stream, f.Seq, f.Width, f.Height, f.Format)
		}
		f.Release() // back to the camera's pool
	}
	fmt.Println("granted:", cam.Granted().Width, "x", cam.Granted().Height)
	// Output:
	// cam0 9 320 240 bgr24
	// granted: 320 x 240
}
