// Package retry keeps a device source running: when the device is missing
// at start or vanishes mid-run, the failure is logged, counted (the drop
// reason "device_error" of the stream), the stream is marked down (the
// synchroniser then marks the modality missing, since nothing arrives), and
// the device is reopened with exponential backoff, while the pipeline's
// other streams go on.
//
// A source ends cleanly by returning nil (a file that played to its end);
// an error wrapped with Permanent (a corrupt file) stops the supervisor
// with that error; any other error is retried. Backoff waits on the
// pipeline's av.Clock, so tests drive it with a virtual clock.
package retry
