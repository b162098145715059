package av

// Pool is a bounded free list of reusable values. Get returns a pooled value
// when one is free and a new one otherwise; Put keeps at most the pool's
// capacity and lets the garbage collector have the rest. Unlike sync.Pool it
// never empties itself at a GC, so steady-state pipelines allocate nothing.
type Pool[T any] struct {
	free    chan *T
	newItem func() *T
}

// NewPool returns a pool that keeps up to capacity free values and makes new
// ones with newItem.
func NewPool[T any](capacity int, newItem func() *T) *Pool[T] {
	return &Pool[T]{free: make(chan *T, capacity), newItem: newItem}
}

// Get returns a free value, or a new one.
func (p *Pool[T]) Get() *T {
	select {
	case v := <-p.free:
		return v
	default:
		return p.newItem()
	}
}

// Put returns v to the pool.
func (p *Pool[T]) Put(v *T) {
	select {
	case p.free <- v:
	default:
	}
}
