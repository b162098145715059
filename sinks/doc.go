// Package sinks delivers decisions: it encodes each one once, as JSON (the
// message of sinks/decision, schema fusiond.decision.v1,
// docs/schema/fusiond.decision.v1.json), and hands the bytes to every
// configured Sink — the JetStream decision log, core NATS, a JSONL file.
//
// Subjects (docs/SUBJECTS.md; the names are in sinks/client):
//
//	fusion.<robot>.decision.<kind>          one message per decision
//	fusion.<robot>.status                   periodic drop counts and queue depths
//	fusion.<robot>.ctl.<endpoint>           the control plane (StartControl)
//	fusion.<robot>.sensor.<stream>.<format> best-effort samples (PublishSensor)
//
// Decision messages carry the headers Nats-Msg-Id (<robot>-<boot id>-<seq>),
// Content-Type, Fusiond-Schema and Fusiond-Capture-Time (the decision's
// time_ns).
//
// The decision log. EnsureLog creates the robot's stream (file storage,
// limits, a duplicate window of at least two minutes). JetStreamSink
// publishes asynchronously through a bounded outbox: at most a window of
// decisions is in flight, the rest waits in order, and every decision stays
// until JetStream acks it. One not acked in time is sent again with the same
// Nats-Msg-Id, which the duplicate window stores once; so a server restart,
// embedded or external, loses and duplicates nothing. Close waits for the
// last acks.
//
// Servers. With no server URL configured, StartEmbedded runs a nats-server
// in-process (NoSigs, JetStream with an explicit store and caps, optional TLS,
// users, leaf remotes), and Embedded.Connect gives an in-process connection
// that survives Embedded.Restart. ConnectExternal reaches other servers with
// any NATS authentication and TLS, reconnecting forever; ConnectOptions log
// and count (ConnStats) disconnects, reconnects, errors and slow consumers.
//
// A fleet. With LeafRemotes and a Domain, the embedded server joins a hub
// as a leaf node, keeps the decision log in its own JetStream domain, and
// announces the domain (AnnounceSubject, DiscoverSubject); the hub side,
// one stream sourcing every robot's log, is package sinks/fleet
// (docs/FLEET.md).
//
// The control plane. StartControl runs the nats micro service "fusiond"
// (robot id in its metadata) with status, config, sources and, when a
// Recorder is given, record.start and record.stop.
package sinks
