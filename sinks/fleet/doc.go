// Package fleet gathers the decision logs of many robots into one stream
// on a hub (docs/FLEET.md).
//
// Topology. Each robot's embedded nats-server joins the hub as a leaf node
// (nats.embedded.leaf.remotes) and runs JetStream in a domain of its own
// (nats.embedded.domain, the robot id by default), so its decision log
// FUSIOND_<robot> stays on the robot and keeps every decision while the
// link is down. The hub, a nats-server cluster, holds one stream,
// FUSIOND_FLEET, that sources each robot's log across its domain (a
// StreamSource with the external API prefix $JS.<domain>.API): the hub's
// servers pull what they miss after an outage, in order, with the
// messages' headers (Nats-Msg-Id, Fusiond-Signature) kept.
//
// The hub stream binds no subjects of its own: decisions also cross the
// leaf link live on fusion.<robot>.decision.<kind>, and a stream that
// listened there as well would store each one twice. Sourced messages keep
// their subject, so a hub consumer verifies the robot's signature over the
// same bytes as on the robot. Decisions sourced twice (a source reset
// while the hub already held some) are stored once within the hub
// stream's duplicate window, by Nats-Msg-Id.
//
// Manager is the hub side: Add and Remove robots (Ensure creates the hub
// stream with as many replicas as the cluster allows, up to the ones
// configured), Status (per robot: lag in messages and in capture time,
// last contact), Discover (robots answering on sinks.DiscoverSubject),
// Check (a recreated robot stream, whose sequence starts again at 1, must
// not stall its source: the manager notices by the stream's creation time
// and resets the source) and Watch (announces, checks, optionally adding
// robots as they announce themselves). Follow reads the hub stream, as
// `fusiond tail --fleet` does.
package fleet
