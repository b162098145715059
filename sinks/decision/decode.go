package decision

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Errors Decode and DecodeStatus wrap.
var (
	// ErrSchema: the message names another schema, or another major version.
	ErrSchema = errors.New("unsupported schema")
	// ErrMalformed: the message is not a valid decision (or status).
	ErrMalformed = errors.New("malformed decision")
)

// CheckSchema accepts name when it is fusiond.<want>.v<major> with the
// major version this package decodes. want is "decision" or "status".
func CheckSchema(name, want string) error {
	prefix := "fusiond." + want + ".v"
	if !strings.HasPrefix(name, prefix) {
		return fmt.Errorf("%w: %q is not fusiond.%s", ErrSchema, name, want)
	}
	major, err := strconv.Atoi(name[len(prefix):])
	if err != nil || major < 1 {
		return fmt.Errorf("%w: %q has no version", ErrSchema, name)
	}
	if major != SchemaMajor {
		return fmt.Errorf("%w: %q (this client reads v%d)", ErrSchema, name, SchemaMajor)
	}
	return nil
}

// Decode decodes a decision message body and checks its schema and the
// fields every decision has. Unknown fields are ignored.
func Decode(data []byte) (*Decision, error) {
	var d Decision
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if err := CheckSchema(d.Schema, "decision"); err != nil {
		return nil, err
	}
	switch {
	case !ValidToken(d.Robot):
		return nil, fmt.Errorf("%w: robot %q", ErrMalformed, d.Robot)
	case !ValidToken(d.Kind):
		return nil, fmt.Errorf("%w: kind %q", ErrMalformed, d.Kind)
	case d.Seq == 0:
		return nil, fmt.Errorf("%w: seq 0", ErrMalformed)
	case !(d.Confidence >= 0 && d.Confidence <= 1):
		return nil, fmt.Errorf("%w: confidence %v", ErrMalformed, d.Confidence)
	}
	return &d, nil
}

// DecodeStatus decodes a status message body and checks its schema.
func DecodeStatus(data []byte) (*Status, error) {
	var s Status
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if err := CheckSchema(s.Schema, "status"); err != nil {
		return nil, err
	}
	return &s, nil
}

// ValidToken reports whether s can be a robot id or a decision kind:
// letters, digits, '-' and '_'.
func ValidToken(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
