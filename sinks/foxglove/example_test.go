package foxglove_test

import (
	"context"
	"fmt"
	"log"

	"github.com/seed-4c364652/fusiond/ingest/av"
	"github.com/seed-4c364652/fusiond/sinks/foxglove"
)

// A live view of one camera and one microphone on 127.0.0.1:8765: the
// daemon's sample tap calls Sample, its sinks WriteDecision.
func Example() {
	ln, err := foxglove.Listen("127.0.0.1:8765")
	if err != nil {
		log.Fatal(err)
	}
	view := foxglove.NewView(foxglove.NewServer(foxglove.Options{}), foxglove.ViewOptions{ImageWidth: 640, ImageFPS: 10})
	view.AddCamera("cam0")
	view.AddMicrophone("mic0")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go view.Serve(ctx, ln)
	// The pipeline offers samples and decisions; a frame costs nothing
	// until someone watches cam0.
	var tap func(av.Sample) = view.Sample
	_ = tap
}

func ExampleParseClientMessage() {
	for _, msg := range []string{
		`{"op":"subscribe","subscriptions":[{"id":1,"channelId":3}]}`,
		`{"op":"advertise","channels":[]}`,
		`{"op":"subscribe","subscriptions":[{"id":-1,"channelId":3}]}`,
	} {
		m, err := foxglove.ParseClientMessage([]byte(msg))
		fmt.Printf("%+v %v\n", m, err)
	}
	// Output:
	// &{Op:subscribe Subscriptions:[{ID:1 ChannelID:3}] SubscriptionIDs:[]} <nil>
	// <nil> foxglove: unsupported client message: "advertise"
	// <nil> foxglove: malformed client message: subscribe: json: cannot unmarshal number -1 into Go struct field Subscription.subscriptions.id of type uint32
}
