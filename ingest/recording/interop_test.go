package recording

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/seed-4c364652/fusiond/internal/testenv"
)

// TestIndependentReader reads recordings with the TypeScript MCAP library
// and protobufjs (scripts/mcap-check), through the summary and chunk
// indexes, and checks the schemas against Foxglove's own definitions.
// `make test` installs the Node modules and sets FUSIOND_REQUIRE_NODE=1, so
// there the test cannot skip.
func TestIndependentReader(t *testing.T) {
	dir, _ := filepath.Abs("../../scripts/mcap-check")
	testenv.RequireNode(t, dir, "@mcap/core")
	for _, comp := range []string{"lz4", "zstd", "none"} {
		t.Run(comp, func(t *testing.T) {
			path := record(t, Options{Compression: comp, ChunkBytes: 10000}, interleaved(10))
			out, err := exec.Command("node", filepath.Join(dir, "check.mjs"), path).CombinedOutput()
			if err != nil {
				t.Fatalf("independent reader: %v\n%s", err, out)
			}
			var summary struct {
				Schemas map[string]string
				Topics  map[string]struct {
					Messages      int
					Width, Height int
					Encoding      string
					SampleRate    int `json:"sample_rate"`
					Channels      int
					Shapes        int
				}
			}
			if err := json.Unmarshal(out, &summary); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			img, aud := summary.Topics["/cam0/image"], summary.Topics["/mic0/audio"]
			if summary.Schemas[SchemaRawImage] != "protobuf" || summary.Schemas[SchemaRawAudio] != "protobuf" ||
				img.Messages != 10 || img.Width != 32 || img.Height != 24 || img.Encoding != "bgr8" ||
				aud.Messages != 20 || aud.SampleRate != 16000 || aud.Channels != 2 ||
				summary.Topics[TopicAudioIndex].Messages != 20 || summary.Topics[TopicDecisions].Messages != 1 ||
				summary.Schemas[SchemaImageAnnotations] != "protobuf" ||
				summary.Topics[AnnotationsTopic("cam0")].Messages != 10 || summary.Topics[AnnotationsTopic("cam0")].Shapes != 10 {
				t.Fatalf("independent reader saw %s", out)
			}
		})
	}
}
