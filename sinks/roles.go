package sinks

import (
	"fmt"
	"slices"

	"github.com/nats-io/nats-server/v2/server"
)

// Role is what a client of fusiond's NATS server may do
// (docs/SECURITY.md).
type Role string

// Roles, from least to most privileged.
const (
	// RoleReader subscribes to decisions, status and samples, reads the
	// decision log through its own JetStream consumers, and calls the
	// read-only control verbs (status, sources, config).
	RoleReader Role = "reader"
	// RoleOperator is a reader who may also start and stop recordings.
	RoleOperator Role = "operator"
	// RoleAdmin may do everything, as the daemon itself does.
	RoleAdmin Role = "admin"
)

// Roles lists the roles, least privileged first.
var Roles = []Role{RoleReader, RoleOperator, RoleAdmin}

// ParseRole returns the role named s; "" is the reader.
func ParseRole(s string) (Role, error) {
	if s == "" {
		return RoleReader, nil
	}
	if r := Role(s); slices.Contains(Roles, r) {
		return r, nil
	}
	return "", fmt.Errorf("role %q is not reader, operator or admin", s)
}

// Subjects a reader may publish to: read-only JetStream API requests,
// consumer acks and flow control, the micro discovery verbs and the
// read-only control verbs. Everything else is refused by the server:
// decisions, status, stream create/update/purge/delete, message deletes,
// the lease bucket, record.*, and replies to other clients' inboxes (a
// reader could otherwise forge JetStream acks to the daemon).
var readerPublish = []string{
	"$JS.API.INFO",
	"$JS.API.STREAM.NAMES",
	"$JS.API.STREAM.LIST",
	"$JS.API.STREAM.INFO.*",
	"$JS.API.STREAM.MSG.GET.*",
	"$JS.API.DIRECT.GET.>",
	"$JS.API.CONSUMER.CREATE.>",
	"$JS.API.CONSUMER.DURABLE.CREATE.>",
	"$JS.API.CONSUMER.NAMES.*",
	"$JS.API.CONSUMER.LIST.*",
	"$JS.API.CONSUMER.INFO.*.*",
	"$JS.API.CONSUMER.DELETE.*.*",
	"$JS.API.CONSUMER.MSG.NEXT.*.*",
	"$JS.ACK.>",
	"$JS.FC.>",
	"$SRV.PING", "$SRV.PING.>",
	"$SRV.INFO", "$SRV.INFO.>",
	"$SRV.STATS", "$SRV.STATS.>",
	"fusion.*.ctl.status",
	"fusion.*.ctl.sources",
	"fusion.*.ctl.config",
}

// Subjects a reader may subscribe to: decisions, status, samples, and
// inboxes for replies and consumer deliveries. Not the control plane's
// requests (a subscriber there could steal them) nor the micro verbs.
var readerSubscribe = []string{
	"fusion.*.decision.>",
	"fusion.*.status",
	"fusion.*.sensor.>",
	"_INBOX.>",
}

// operatorPublish is what an operator may publish beyond a reader.
var operatorPublish = []string{
	"fusion.*.ctl.record.start",
	"fusion.*.ctl.record.stop",
}

// RolePermissions returns the NATS permissions of role, with extra
// publish and subscribe subjects allowed on top; nil (everything) for
// the admin. A reader gets no allow_responses: it would let a subscriber
// of the decision subjects answer the daemon's JetStream publishes with
// forged acks.
func RolePermissions(role Role, extraPublish, extraSubscribe []string) *server.Permissions {
	var pub []string
	switch role {
	case RoleAdmin:
		return nil
	case RoleOperator:
		pub = slices.Concat(readerPublish, operatorPublish)
	default:
		pub = slices.Clone(readerPublish)
	}
	return &server.Permissions{
		Publish:   &server.SubjectPermission{Allow: append(pub, extraPublish...)},
		Subscribe: &server.SubjectPermission{Allow: slices.Concat(readerSubscribe, extraSubscribe)},
	}
}
