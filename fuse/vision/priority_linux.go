//go:build !nosensors

package vision

import "syscall"

// workerNice is the niceness of the thread the cascade passes run on: the
// threads that compute every frame's features come first.
const workerNice = 10

// lowerThreadPriority lowers the calling thread's scheduling priority (no
// privilege is needed to lower it). Where the system refuses, the passes
// run at the same priority as everything else: nothing else changes.
func lowerThreadPriority() {
	_ = syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), workerNice)
}
