package db

// Waiting is how many reads wait for a batch, for tests that hold one
// batch and need the others queued behind it.
func (b *Batcher[K, V]) Waiting() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, c := range b.queue {
		if !c.left {
			n++
		}
	}
	return n
}
