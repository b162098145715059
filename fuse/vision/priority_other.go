//go:build !nosensors && !linux

package vision

// lowerThreadPriority does nothing here: the passes run at the same
// priority as everything else.
func lowerThreadPriority() {}
