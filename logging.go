package fusiond

import "errors"

// loggedError is an error already logged, with its stream or component,
// where it happened: whoever gets it back must not log it again.
type loggedError struct{ error }

func (e loggedError) Unwrap() error { return e.error }

// markLogged marks err (nil stays nil) as logged where it happened.
func markLogged(err error) error {
	if err == nil {
		return nil
	}
	return loggedError{err}
}

// IsLogged reports whether err, returned by Run, was already logged where
// it happened (with its stream or component): the caller need not log it
// again.
func IsLogged(err error) bool {
	var l loggedError
	return errors.As(err, &l)
}
