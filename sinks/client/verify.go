package client

import (
	"bufio"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
)

// HeaderSignature carries a decision's signature: the unpadded base64url
// encoding of the ed25519 signature of SignedMessage(subject, payload) by
// the robot's key.
const HeaderSignature = "Fusiond-Signature"

// Errors Verify returns (wrapped).
var (
	// ErrUnsigned: the message has no signature.
	ErrUnsigned = errors.New("unsigned decision")
	// ErrForged: the signature is not that of a trusted key over this
	// subject and payload.
	ErrForged = errors.New("forged decision")
)

// SignedMessage is what a decision's signature covers: the subject, a
// newline, and the payload bytes exactly as published.
func SignedMessage(subject string, payload []byte) []byte {
	b := make([]byte, 0, len(subject)+1+len(payload))
	b = append(b, subject...)
	b = append(b, '\n')
	return append(b, payload...)
}

// Verifier checks decisions' signatures against trusted public keys.
type Verifier struct {
	keys []nkeys.KeyPair // public keys only
}

// NewVerifier trusts the given public keys (nkeys, "U..." as fusiond
// writes them in its status and recordings).
func NewVerifier(publicKeys ...string) (*Verifier, error) {
	v := &Verifier{}
	for _, k := range publicKeys {
		k = strings.TrimSpace(k)
		if k == "" {
			continue
		}
		kp, err := nkeys.FromPublicKey(k)
		if err != nil {
			return nil, fmt.Errorf("public key %q: %w", k, err)
		}
		v.keys = append(v.keys, kp)
	}
	if len(v.keys) == 0 {
		return nil, errors.New("no public keys to trust")
	}
	return v, nil
}

// ParseTrustedKeys reads keys given as a comma-separated list of public
// keys, or as the name of a file with one key per line (# comments).
func ParseTrustedKeys(s string) (*Verifier, error) {
	if st, err := os.Stat(s); err == nil && st.Mode().IsRegular() {
		f, err := os.Open(s)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		var keys []string
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line, _, _ := strings.Cut(sc.Text(), "#")
			keys = append(keys, strings.Fields(line)...)
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("%s: %w", s, err)
		}
		v, err := NewVerifier(keys...)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s, err)
		}
		return v, nil
	}
	return NewVerifier(strings.Split(s, ",")...)
}

// Verify checks the signature of a decision message; nil when a trusted
// key signed exactly this subject and payload.
func (v *Verifier) Verify(subject string, h nats.Header, payload []byte) error {
	sig64 := ""
	if h != nil {
		sig64 = h.Get(HeaderSignature)
	}
	if sig64 == "" {
		return fmt.Errorf("%s: %w", subject, ErrUnsigned)
	}
	sig, err := base64.RawURLEncoding.DecodeString(sig64)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return fmt.Errorf("%s: %w: bad signature encoding", subject, ErrForged)
	}
	msg := SignedMessage(subject, payload)
	for _, k := range v.keys {
		if k.Verify(msg, sig) == nil {
			return nil
		}
	}
	return fmt.Errorf("%s: %w: no trusted key signed it", subject, ErrForged)
}

// Option configures Subscribe and Replay.
type Option func(*options)

type options struct{ verifier *Verifier }

// WithVerifier rejects decisions not signed by one of v's keys: their Msg
// has Err wrapping ErrUnsigned or ErrForged and no Decision.
func WithVerifier(v *Verifier) Option { return func(o *options) { o.verifier = v } }

func newOptions(opts []Option) options {
	var o options
	for _, f := range opts {
		f(&o)
	}
	return o
}
