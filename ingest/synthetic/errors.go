package synthetic

import "fmt"

// ConfigError reports one invalid field of a VideoConfig or AudioConfig. It
// is typed so that a config loader can map Field back to a file and line.
type ConfigError struct {
	// Field is the field's config key, as in fusiond's YAML: "fps",
	// "shape_radius", "events[2].duration".
	Field string
	// Reason says what is wrong, with the value given.
	Reason string
}

func (e *ConfigError) Error() string {
	return "synthetic: invalid " + e.Field + ": " + e.Reason
}

func fieldErr(field, format string, args ...any) error {
	return &ConfigError{Field: field, Reason: fmt.Sprintf(format, args...)}
}
