package configs

import (
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestRedacted: no secret of the config survives, the original is not
// changed, and the rest is as it was.
func TestRedacted(t *testing.T) {
	const seed = "SUAFCY3V4JVMBGO6CHBCCZT2AVGJ7MFZYILF5MLCSJOTLNSMBJOZ2BSJDY"
	c, err := Parse("", nil, []string{
		"nats.url=nats://robot:urlpass@10.0.0.2:4222,nats://tok3n@10.0.0.3:4222",
		"nats.user=robot", "nats.password=pw1secret",
	})
	if err != nil {
		t.Fatal(err)
	}
	c.NATS.Token = "tok3n"
	c.NATS.Embedded.Users = []EmbeddedUser{{User: "ops", Password: "pw2secret"}}
	c.NATS.Embedded.Leaf.Remotes = []string{"nats-leaf://leafuser:leafpass@hub:7422"}
	c.Cameras[0].Params.Set("url", "rtsp://admin:campass@cam/stream")
	c.Cameras[0].Params.Set("synthetic.nested", "rtspsrc location=rtsp://a:campass2@cam ! appsink "+seed)
	r := Redacted(c)
	b, err := yaml.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"urlpass", "tok3n", "pw1secret", "pw2secret", "leafpass", "campass", seed} {
		if strings.Contains(string(b), secret) {
			t.Errorf("%q in the redacted config", secret)
		}
	}
	if c.NATS.Password != "pw1secret" || c.NATS.Embedded.Users[0].Password != "pw2secret" || !strings.Contains(c.NATS.URL, "urlpass") ||
		!strings.Contains(c.NATS.Embedded.Leaf.Remotes[0], "leafpass") || !strings.Contains(c.Cameras[0].Params.String("url"), "campass") {
		t.Fatal("the original config changed")
	}
	if r.NATS.URL != "nats://[redacted]@10.0.0.2:4222,nats://[redacted]@10.0.0.3:4222" || r.NATS.User != "robot" ||
		r.NATS.Password != "[redacted]" || r.Robot != c.Robot || r.Fuse.DecisionInterval != c.Fuse.DecisionInterval {
		t.Fatalf("redacted %+v", r.NATS)
	}
}
