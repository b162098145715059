// Package sinks delivers decisions: it encodes each one once, as JSON
// (schema fusiond.decision.v1, docs/schema/fusiond.decision.v1.json), and
// hands the bytes to every configured Sink — NATS, a JSONL file.
//
// Subjects:
//
//	fusion.<robot>.decision.<kind>   one message per decision
//	fusion.<robot>.status            periodic drop counts and queue depths
//
// Decision messages carry the headers Nats-Msg-Id (<robot>-<boot id>-<seq>),
// Content-Type, Fusiond-Schema and Fusiond-Capture-Time (the decision's
// time_ns).
//
// With no server URL configured, StartEmbedded runs a nats-server in-process
// (JetStream on, loopback listener by default), so one command runs the
// whole system and local subscribers can connect.
package sinks
