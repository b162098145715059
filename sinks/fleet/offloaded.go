package fleet

import (
	"context"

	"github.com/nats-io/nats.go"

	"github.com/seed-4c364652/fusiond/sinks/worker"
)

// AddOffloaded is `fusiond worker add`: for each ROBOT[@DOMAIN] in robots,
// in order until one fails, the hub's work stream sources the robot's
// feature bundles and its decisions are stored on the hub
// (worker.AddRobot), on the hub connection nc (hubDomain: the hub's
// JetStream domain, "" for the server's own); added is told of each.
func AddOffloaded(ctx context.Context, nc *nats.Conn, hubDomain string, robots []string, added func(Robot)) error {
	js, err := worker.JetStream(nc, hubDomain)
	if err != nil {
		return err
	}
	for _, a := range robots {
		r, err := ParseRobot(a)
		if err != nil {
			return err
		}
		if err := worker.AddRobot(ctx, js, r.Robot, r.Domain); err != nil {
			return err
		}
		added(r)
	}
	return nil
}
