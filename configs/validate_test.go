package configs

import (
	"strings"
	"testing"
)

// TestLintRefusesBadInput: values that passed validation and then failed
// (or silently lost decisions) at run time.
func TestLintRefusesBadInput(t *testing.T) {
	long := strings.Repeat("r", 250)
	for _, tc := range []struct {
		name, set, want string
	}{
		{"NaN float", "fuse.activity.motion_ref=.nan", "fuse.activity.motion_ref: NaN is not a finite number"},
		{"Inf float", "sync.min_audio_coverage=.inf", "sync.min_audio_coverage: +Inf is not a finite number"},
		{"-Inf in a list", "microphones.0.geometry.0.x=-.inf", "not a finite number"},
		{"robot id too long", "robot=" + long, "robot: 250 characters"},
		{"stream name too long", "cameras.0.name=" + strings.Repeat("c", 65), "cameras.0.name: 65 characters"},
		{"jetstream stream too long", "nats.jetstream.stream=" + strings.Repeat("s", 256), "nats.jetstream.stream: 256 characters"},
		{"jetstream stream with a slash", "nats.jetstream.stream=a/b", "no spaces, dots, slashes"},
		{"unknown URL scheme", "nats.url=garbage://x", `nats.url: "garbage://x": scheme "garbage"`},
		{"one bad URL of a list", "nats.url=nats://a:4222,http://b:4222", `scheme "http"`},
		{"URL without a host", "nats.url=nats://", "has no host"},
		{"leaf remote scheme", "nats.embedded.leaf.remotes=[\"ftp://hub:7422\"]", `scheme "ftp"`},
		{"outbox_sync zero", "nats.jetstream.outbox_sync=0s", "nats.jetstream.outbox_sync"},
		{"foxglove on all interfaces", "foxglove.listen=0.0.0.0:8765", "foxglove.listen: \"0.0.0.0:8765\" is not a loopback address"},
		{"foxglove on a host name", "foxglove.listen=robot.local:8765", "not a loopback address"},
		{"foxglove without a port", "foxglove.listen=127.0.0.1", "foxglove.listen: \"127.0.0.1\" is not host:port"},
		{"foxglove fps", "foxglove.image_fps=0", "foxglove.image_fps: 0 is out of range"},
		{"foxglove width", "foxglove.image_width=8", "foxglove.image_width: 8 is out of range"},
		{"foxglove quality", "foxglove.jpeg_quality=101", "foxglove.jpeg_quality"},
		{"foxglove queue", "foxglove.queue_capacity=0", "foxglove.queue_capacity"},
		{"foxglove write timeout", "foxglove.write_timeout=1ms", "foxglove.write_timeout"},
		{"audio step window beyond the step's", "fuse.decisions.audio_step_window=150ms", "fuse.decisions.audio_step_window: 150ms: want 1ms to step_window (100ms)"},
		{"audio step window zero", "fuse.decisions.audio_step_window=0s", "fuse.decisions.audio_step_window"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("", nil, []string{tc.set})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("--set %s: want an error with %q, got %v", tc.set, tc.want, err)
			}
		})
	}
	for _, ok := range []string{
		"nats.url=nats://127.0.0.1:4222", "nats.url=127.0.0.1:4222", "nats.url=tls://a:4222, wss://b:443",
		"nats.url=nats://[redacted]@10.9.9.9:4222", "nats.url=nats://u:p%40ss@h:4222",
		"robot=" + strings.Repeat("r", 64), "fuse.activity.motion_ref=0.25",
		"foxglove.listen=127.0.0.1:8765", `foxglove.listen="[::1]:0"`, "foxglove.listen=localhost:8765", "foxglove.image_width=0",
	} {
		if _, err := Parse("", nil, []string{ok}); err != nil {
			t.Errorf("--set %s: %v", ok, err)
		}
	}
}
