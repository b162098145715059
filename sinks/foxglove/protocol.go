package foxglove

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
)

// Subprotocols are the WebSocket subprotocol names the server accepts, in
// order of preference: the protocol's own name, which Foxglove and
// @foxglove/ws-protocol offer, and the name the Foxglove SDK offers.
var Subprotocols = []string{"foxglove.websocket.v1", "foxglove.sdk.v1"}

// Opcodes of the binary messages the server sends.
const (
	opMessageData byte = 0x01
	opTime        byte = 0x02
)

// Status levels of a status message.
const (
	LevelInfo    = 0
	LevelWarning = 1
	LevelError   = 2
)

// Errors ParseClientMessage wraps.
var (
	// ErrMalformed: the message is not one the protocol defines.
	ErrMalformed = errors.New("foxglove: malformed client message")
	// ErrUnsupported: the protocol defines the message, but this server
	// does not offer it (client publishing, parameters, services, ...).
	ErrUnsupported = errors.New("foxglove: unsupported client message")
)

// maxSubscriptions bounds the entries of one subscribe or unsubscribe.
const maxSubscriptions = 1024

// Subscription is one entry of a subscribe message: the client's id for it
// and the channel it wants.
type Subscription struct {
	ID        uint32 `json:"id"`
	ChannelID uint32 `json:"channelId"`
}

// ClientMessage is a parsed text message from a client. Op is "subscribe"
// (Subscriptions set) or "unsubscribe" (SubscriptionIDs set).
type ClientMessage struct {
	Op              string
	Subscriptions   []Subscription
	SubscriptionIDs []uint32
}

// clientOps the protocol defines that this server does not offer: it
// declares no clientPublish, parameters, services, connectionGraph or
// assets capability.
var unsupportedOps = map[string]bool{
	"advertise": true, "unadvertise": true,
	"getParameters": true, "setParameters": true,
	"subscribeParameterUpdates": true, "unsubscribeParameterUpdates": true,
	"subscribeConnectionGraph": true, "unsubscribeConnectionGraph": true,
	"fetchAsset": true,
}

// ParseClientMessage parses a client's text message. It accepts subscribe
// and unsubscribe; it reports any other message the protocol defines as
// ErrUnsupported, and anything else (not JSON, no op, unknown op, fields
// of the wrong type, ids out of uint32's range, duplicate subscription ids
// in one message, more than 1024 entries) as ErrMalformed.
func ParseClientMessage(data []byte) (*ClientMessage, error) {
	var head struct {
		Op *string `json:"op"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if head.Op == nil {
		return nil, fmt.Errorf("%w: no op", ErrMalformed)
	}
	op := *head.Op
	dec := json.NewDecoder(bytes.NewReader(data))
	switch op {
	case "subscribe":
		var m struct {
			Subscriptions []Subscription `json:"subscriptions"`
		}
		if err := dec.Decode(&m); err != nil {
			return nil, fmt.Errorf("%w: subscribe: %w", ErrMalformed, err)
		}
		if len(m.Subscriptions) > maxSubscriptions {
			return nil, fmt.Errorf("%w: subscribe: %d subscriptions", ErrMalformed, len(m.Subscriptions))
		}
		seen := make(map[uint32]bool, len(m.Subscriptions))
		for _, s := range m.Subscriptions {
			if seen[s.ID] {
				return nil, fmt.Errorf("%w: subscribe: subscription id %d twice", ErrMalformed, s.ID)
			}
			seen[s.ID] = true
		}
		return &ClientMessage{Op: op, Subscriptions: m.Subscriptions}, nil
	case "unsubscribe":
		var m struct {
			SubscriptionIDs []uint32 `json:"subscriptionIds"`
		}
		if err := dec.Decode(&m); err != nil {
			return nil, fmt.Errorf("%w: unsubscribe: %w", ErrMalformed, err)
		}
		if len(m.SubscriptionIDs) > maxSubscriptions {
			return nil, fmt.Errorf("%w: unsubscribe: %d ids", ErrMalformed, len(m.SubscriptionIDs))
		}
		return &ClientMessage{Op: op, SubscriptionIDs: m.SubscriptionIDs}, nil
	}
	if unsupportedOps[op] {
		return nil, fmt.Errorf("%w: %q", ErrUnsupported, op)
	}
	return nil, fmt.Errorf("%w: unknown op %.64q", ErrMalformed, op)
}

// Channel is one advertised channel: its topic, the encoding of its
// messages ("protobuf", "json") and its schema (for protobuf a base64
// FileDescriptorSet, for json a JSON Schema).
type Channel struct {
	ID             uint32 `json:"id"`
	Topic          string `json:"topic"`
	Encoding       string `json:"encoding"`
	SchemaName     string `json:"schemaName"`
	Schema         string `json:"schema"`
	SchemaEncoding string `json:"schemaEncoding,omitempty"`
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("foxglove: " + err.Error()) // only fixed struct types reach here
	}
	return b
}

// serverInfo is the first message every client gets.
func serverInfo(name string, capabilities []string, sessionID string) []byte {
	if capabilities == nil {
		capabilities = []string{}
	}
	return mustJSON(struct {
		Op           string            `json:"op"`
		Name         string            `json:"name"`
		Capabilities []string          `json:"capabilities"`
		Metadata     map[string]string `json:"metadata,omitempty"`
		SessionID    string            `json:"sessionId,omitempty"`
	}{"serverInfo", name, capabilities, nil, sessionID})
}

func advertise(chans []Channel) []byte {
	return mustJSON(struct {
		Op       string    `json:"op"`
		Channels []Channel `json:"channels"`
	}{"advertise", chans})
}

func status(level int, msg string) []byte {
	return mustJSON(struct {
		Op      string `json:"op"`
		Level   int    `json:"level"`
		Message string `json:"message"`
	}{"status", level, msg})
}

// appendMessageData appends a Message Data frame: opcode, subscription id,
// timestamp (ns), payload; integers little-endian.
func appendMessageData(b []byte, subID uint32, tsNS int64, payload []byte) []byte {
	b = append(b, opMessageData)
	b = binary.LittleEndian.AppendUint32(b, subID)
	b = binary.LittleEndian.AppendUint64(b, uint64(tsNS))
	return append(b, payload...)
}

// appendTime appends a Time frame.
func appendTime(b []byte, tsNS int64) []byte {
	b = append(b, opTime)
	return binary.LittleEndian.AppendUint64(b, uint64(tsNS))
}
