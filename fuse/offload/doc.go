// Package offload is the wire format of offloaded fusion: a robot that runs
// capture and feature extraction only (fuse.offload) publishes one
// feature bundle per fuse.Tick, and a fusion worker (sinks/worker) makes
// the robot's decisions from them with fuse.Fusion, the same code the
// robot runs in process.
//
// A bundle is published on fusion.<robot>.offload.tick (Subject) with the
// headers Nats-Msg-Id <robot>-<boot>-t<seq>, Content-Type ContentType and
// Fusiond-Schema Schema. Its body, version 1, all integers little-endian
// or varints (encoding/binary), floats as IEEE-754 bits:
//
//	magic   "FZTK"
//	version byte     1
//	kind    byte     1 step, 2 interval (fuse.TickKind)
//	seq     uvarint  the robot's tick number in this boot, from 1
//	robot   string
//	boot    string   the robot daemon's boot id
//	time_ns varint   capture time of the step's (interval's last) bundle
//	missing uvarint count, then that many strings (modalities)
//	missing_streams  the same (the missing modalities' configured streams)
//	evidence map
//	(kind 2 only) logit float64, then contributions map
//
// where a string is a uvarint length and that many bytes, and a map is a
// uvarint count, then per entry, in increasing name order, a uvarint key
// and a float64: key k ≥ 1 names Names[k-1], key 0 is followed by the
// name as a string. Names is fixed for version 1; a new name goes on the
// wire as a string until a new version extends the table. A decoder
// refuses another magic or version, trailing bytes, and names out of
// order or repeated, and names of the table spelled out. A step bundle is
// 90–200 bytes (six numbers to every feature on).
package offload
