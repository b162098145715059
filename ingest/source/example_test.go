package source_test

import (
	"fmt"

	"github.com/seed-4c364652/fusiond/ingest/source"
)

// A config's source entries are checked against their kinds' specs, each
// error naming the file, the line and the key.
func ExampleParse() {
	yml := `cameras:
  - name: front
    source: file
    fiel: front.mp4
microphones: []
`
	_, err := source.Parse("robot.yaml", []byte(yml), nil)
	fmt.Println(err)
	// Output:
	// robot.yaml:4: cameras.0.fiel: unknown key (did you mean "file"?); known keys here: name, source, width, height, fps, pose, file, pace, loop (source file)
	// robot.yaml:3: cameras.0.file: missing: the video file (source file)
}

// Lookup finds a kind's spec; Specs lists them all.
func ExampleLookup() {
	s, err := source.Lookup(source.Microphone, "wav")
	if err != nil {
		panic(err)
	}
	for _, k := range s.Keys {
		fmt.Printf("%s (%s, default %q)\n", k.Name, k.Type, k.Default)
	}
	_, err = source.Lookup(source.Camera, "webcam")
	fmt.Println(err)
	// Output:
	// file (string, default "")
	// pace (bool, default "true")
	// loop (bool, default "false")
	// "webcam" is not a known camera source (known: device, file, gstreamer, synthetic, url)
}
