package retry_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/ingest/retry"
)

// camera fails to open twice, then captures one frame and ends.
type camera struct{ opens int }

func (c *camera) Run(ctx context.Context, out *av.Queue[av.Sample], startNS int64) error {
	c.opens++
	if c.opens <= 2 {
		return errors.New("open /dev/video0: no such device")
	}
	return out.Send(ctx, &av.Frame{Meta: av.Meta{Stream: "front"}})
}

func ExampleSupervisor() {
	// A real clock with short backoffs, so the example runs quickly.
	drops := av.NewDrops()
	s := retry.New(&camera{}, retry.Config{Stream: "front", MinBackoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond},
		av.NewRealClock(), drops, nil)
	q := av.NewQueue[av.Sample]("capture:front", 4, av.DropOldest, func(s av.Sample) { s.Release() })
	err := s.Run(context.Background(), q, 0)
	fmt.Println("err:", err, "failures:", s.Failures(), "counted:", drops.Get("front", retry.DropDeviceError), "frames:", q.Len())
	// Output: err: <nil> failures: 2 counted: 2 frames: 1
}
