// Package worker runs fusion for robots that offload it (docs/FLEET.md,
// "Fusion workers"). A robot with fuse.offload extracts features only and
// publishes one feature bundle per fuse.Tick (fuse/offload) on
// fusion.<robot>.offload.tick; the hub gathers them in a work stream
// (WorkStream). Any number of workers, on any machines, share the robots:
//
//   - Leases. A worker owns a robot while it holds the key robot.<robot>
//     in the KV bucket LeaseBucket (the bucket's TTL expires a lease not
//     renewed); it announces itself under worker.<id> in the same bucket.
//     Every scan a worker that holds less than its share, ceil(robots /
//     workers), and no more than any other worker takes robots without a
//     lease up to its share; one that holds more than its share, or two
//     more than the least loaded worker, gives one back (checkpointed).
//   - Checkpoints. Every Config.CheckpointEvery ticks, and when it gives a
//     robot back, the owner writes the robot's checkpoint to StateBucket:
//     the robot's boot, the last tick and work-stream sequence processed,
//     and the fuse.Fusion state (decision count and tracker). A worker
//     that takes a robot over restores it and reads the work stream from
//     the next sequence.
//   - Exactly once. A decision's Nats-Msg-Id is <robot>-<boot>-<seq>, and
//     seq follows from the ticks alone, so the decisions a new owner makes
//     again after the last checkpoint carry the ids of those the old owner
//     already published: the decision stream's duplicate window stores them
//     once. The decisions equal those the robot would have made itself
//     (fuse.Fusion is the code it runs in process).
//   - Signing. Workers sign decisions with their own key (Config.Signer);
//     subscribers trust the robots' and the workers' keys.
package worker
