package synthetic

// Every random-looking value here is a counter-based hash of (seed, stream
// part, index) rather than the next output of a stateful generator: any
// sample can then be computed on its own, in any order and on any goroutine,
// and Render and Fill stay pure functions of their arguments.

// golden is splitmix64's increment, 2^64 divided by the golden ratio.
const golden = 0x9e3779b97f4a7c15

// mix64 is splitmix64's finaliser: a bijection on uint64 whose output bits
// each depend on every input bit.
func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// subKey derives an independent key from a key and a part (a salt, a channel,
// a frame number), so that different uses of one seed never share values.
func subKey(key, part uint64) uint64 {
	return mix64(key ^ mix64(part+golden))
}

// hashAt returns the index-th value of the splitmix64 sequence keyed by key.
func hashAt(key uint64, index int64) uint64 {
	return mix64(key + uint64(index)*golden)
}

// signedUnit maps a hash to a uniform value in [-1, 1).
func signedUnit(h uint64) float64 {
	return float64(h>>11)*0x1p-52 - 1
}

// Salts separating the uses of one seed.
const (
	saltVideoNoise uint64 = iota + 1
	saltVideoPath
	saltAudioNoise
	saltAudioEvent
)
