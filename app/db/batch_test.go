package db_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/licensor/licensor/app/db"
	"github.com/licensor/licensor/app/db/dbtest"
	"github.com/licensor/licensor/test/eventually"
)

var (
	errKey13   = errors.New("key 13 has a row no one can read")
	errBatch66 = errors.New("a batch with key 66 fails")
)

// batchProbe is a Batcher's read on a real connection: each key k > 0 has
// the row k*10, others none; key 13's row is an error of its own and a
// batch holding key 66 fails. It records each batch's keys, and holds a
// batch whose first key has a gate until the gate is closed.
type batchProbe struct {
	gates   map[int64]chan struct{}
	started chan int64
	// cancelled receives the first key of a held batch whose context
	// ended.
	cancelled chan int64

	mu      sync.Mutex
	batches [][]int64
}

func newBatchProbe(gated ...int64) *batchProbe {
	p := &batchProbe{gates: map[int64]chan struct{}{}, started: make(chan int64, 16), cancelled: make(chan int64, 16)}
	for _, k := range gated {
		p.gates[k] = make(chan struct{})
	}
	return p
}

func (p *batchProbe) read(ctx context.Context, c *pgx.Conn, keys []int64, vals []int64, errs []error) error {
	p.mu.Lock()
	p.batches = append(p.batches, slices.Clone(keys))
	p.mu.Unlock()
	if gate, ok := p.gates[keys[0]]; ok {
		p.started <- keys[0]
		select {
		case <-gate:
		case <-ctx.Done():
			p.cancelled <- keys[0]
			return ctx.Err()
		}
	}
	if slices.Contains(keys, 66) {
		return errBatch66
	}
	rows, err := c.Query(ctx, "SELECT i, k * 10 FROM unnest($1::bigint[]) WITH ORDINALITY AS u(k, i) WHERE k > 0", keys)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var i, v int64
		if err := rows.Scan(&i, &v); err != nil {
			return err
		}
		if vals[i-1] = v; keys[i-1] == 13 {
			errs[i-1] = errKey13
		}
	}
	return rows.Err()
}

func (p *batchProbe) sent() [][]int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([][]int64, len(p.batches))
	for i, b := range p.batches {
		out[i] = slices.Sorted(slices.Values(b))
	}
	return out
}

type batchAnswer struct {
	key int64
	val int64
	err error
}

// readAsync reads key on its own goroutine; its answer comes on the
// returned channel.
func readAsync(ctx context.Context, b *db.Batcher[int64, int64], key int64) <-chan batchAnswer {
	out := make(chan batchAnswer, 1)
	go func() {
		v, err := b.Read(ctx, key)
		out <- batchAnswer{key, v, err}
	}()
	return out
}

func answer(t *testing.T, ch <-chan batchAnswer) batchAnswer {
	t.Helper()
	select {
	case a := <-ch:
		return a
	case <-time.After(10 * time.Second):
		t.Fatal("no answer")
		return batchAnswer{}
	}
}

// A read sent while the batcher's batches are all out waits; when one
// comes back, the reads that waited go out together, in batches of at
// most maxBatch, each answered with its own row, none, or its own error.
// Without batching each of them would be a statement of its own.
func TestBatcherSendsWaitingReadsTogether(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	p := newBatchProbe(1)
	b := db.NewBatcher(d.SQL, 1, 1, 4, p.read)

	first := readAsync(ctx, b, 1)
	if k := <-p.started; k != 1 {
		t.Fatalf("started %d", k)
	}
	keys := []int64{2, 3, 4, 2, -4, 13}
	var waiting []<-chan batchAnswer
	for i, k := range keys {
		waiting = append(waiting, readAsync(ctx, b, k))
		// One at a time, so the batches are the queue's order.
		eventually.True(t, 5*time.Second, "the read queued", func() bool { return b.Waiting() == i+1 })
	}
	close(p.gates[1])
	if a := answer(t, first); a.val != 10 || a.err != nil {
		t.Fatalf("first read: %+v", a)
	}
	for i, ch := range waiting {
		a := answer(t, ch)
		var want int64
		if keys[i] > 0 {
			want = keys[i] * 10
		}
		switch {
		case keys[i] == 13:
			if !errors.Is(a.err, errKey13) {
				t.Errorf("key 13: %+v, want its own error", a)
			}
		case a.val != want || a.err != nil:
			t.Errorf("key %d: %+v, want %d", keys[i], a, want)
		}
	}
	if got, want := p.sent(), [][]int64{{1}, {2, 2, 3, 4}, {-4, 13}}; !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("batches sent %v, want %v", got, want)
	}

	// Idle again: a read goes at once, alone.
	if v, err := b.Read(ctx, 5); v != 50 || err != nil {
		t.Fatalf("read alone: %d, %v", v, err)
	}
	if got := p.sent(); len(got) != 4 || !slices.Equal(got[3], []int64{5}) {
		t.Fatalf("batches sent %v", got)
	}
}

// While a batch is out, a read waits even when another batch could go
// beside it: only once minOverlap reads wait do they go together,
// without waiting for the first to come back. Sent one by one, as
// soon as a place was free, most batches beside the first held a read
// or two, and each paid a round trip (docs/benchmarks.md#batch-sizes).
func TestBatcherOverlapsOnlyAFullEnoughBatch(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	p := newBatchProbe(1)
	b := db.NewBatcher(d.SQL, 2, 3, 10, p.read)

	first := readAsync(ctx, b, 1)
	<-p.started
	var waiting []<-chan batchAnswer
	for i, k := range []int64{2, 3} {
		waiting = append(waiting, readAsync(ctx, b, k))
		// With a place free beside batch {1}, the read still waits.
		eventually.True(t, 5*time.Second, "the read queued", func() bool { return b.Waiting() == i+1 })
	}
	// The third waiting read sends the three together, while {1} is
	// still held.
	waiting = append(waiting, readAsync(ctx, b, 4))
	for i, ch := range waiting {
		if a := answer(t, ch); a.val != int64(i+2)*10 || a.err != nil {
			t.Errorf("key %d: %+v", i+2, a)
		}
	}
	if got, want := p.sent(), [][]int64{{1}, {2, 3, 4}}; !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("batches sent %v, want %v", got, want)
	}
	close(p.gates[1])
	if a := answer(t, first); a.val != 10 || a.err != nil {
		t.Fatalf("first read: %+v", a)
	}
}

// A batch coming back while another is out leaves fewer than minOverlap
// waiting reads to that one: they go when it comes back, together with
// those coming meanwhile, not at once in a small batch beside it. Taken
// at once, half to three quarters of bench/load's cache-off batches went
// beside another (docs/benchmarks.md#cache-off-hand-off).
func TestBatcherComingBackLeavesAFewReadsToTheOneOut(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	p := newBatchProbe(1, 2)
	b := db.NewBatcher(d.SQL, 2, 3, 10, p.read)

	first := readAsync(ctx, b, 1)
	<-p.started
	var overlap []<-chan batchAnswer
	for _, k := range []int64{2, 3, 4} {
		overlap = append(overlap, readAsync(ctx, b, k))
		eventually.True(t, 5*time.Second, "the read queued or went", func() bool { return b.Waiting() == len(overlap)%3 })
	}
	// {2, 3, 4} went beside {1}; two more wait behind both.
	if k := <-p.started; k != 2 {
		t.Fatalf("started %d", k)
	}
	var waiting []<-chan batchAnswer
	for i, k := range []int64{5, 6} {
		waiting = append(waiting, readAsync(ctx, b, k))
		eventually.True(t, 5*time.Second, "the read queued", func() bool { return b.Waiting() == i+1 })
	}
	close(p.gates[2])
	for i, ch := range overlap {
		if a := answer(t, ch); a.val != int64(i+2)*10 || a.err != nil {
			t.Errorf("key %d: %+v", i+2, a)
		}
	}
	// {2, 3, 4} is back and {1} still out: the two reads wait for it.
	eventually.True(t, 5*time.Second, "the batch back gave up its place", func() bool { return b.Out() == 1 })
	if n := b.Waiting(); n != 2 {
		t.Fatalf("%d reads wait, want 2", n)
	}
	close(p.gates[1])
	if a := answer(t, first); a.val != 10 || a.err != nil {
		t.Fatalf("first read: %+v", a)
	}
	for i, ch := range waiting {
		if a := answer(t, ch); a.val != int64(i+5)*10 || a.err != nil {
			t.Errorf("key %d: %+v", i+5, a)
		}
	}
	if got, want := p.sent(), [][]int64{{1}, {2, 3, 4}, {5, 6}}; !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("batches sent %v, want %v", got, want)
	}
	eventually.True(t, 5*time.Second, "every batch back", func() bool { return b.Out() == 0 })
}

// A batch's error is each of its reads'.
func TestBatcherErrorIsEveryReads(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	p := newBatchProbe(1)
	b := db.NewBatcher(d.SQL, 1, 1, 10, p.read)
	first := readAsync(ctx, b, 1)
	<-p.started
	var waiting []<-chan batchAnswer
	for i, k := range []int64{66, 7} {
		waiting = append(waiting, readAsync(ctx, b, k))
		eventually.True(t, 5*time.Second, "the read queued", func() bool { return b.Waiting() == i+1 })
	}
	close(p.gates[1])
	answer(t, first)
	for _, ch := range waiting {
		if a := answer(t, ch); !errors.Is(a.err, errBatch66) {
			t.Errorf("key %d: %+v, want the batch's error", a.key, a)
		}
	}
}

// A caller whose context ends stops waiting at once, whether its read
// still waits (it is then not sent) or is out in a batch (which goes on
// for the others); a batch whose callers have all left is cancelled, and
// the batcher goes on.
func TestBatcherCallerLeaves(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	p := newBatchProbe(1, 2, 8, 7)
	b := db.NewBatcher(d.SQL, 1, 1, 10, p.read)

	first := readAsync(ctx, b, 1)
	<-p.started
	leaverCtx, leave := context.WithCancel(ctx)
	inBatchCtx, leaveBatch := context.WithCancel(ctx)
	inBatch := readAsync(inBatchCtx, b, 2)
	eventually.True(t, 5*time.Second, "the read queued", func() bool { return b.Waiting() == 1 })
	leaver := readAsync(leaverCtx, b, 99)
	eventually.True(t, 5*time.Second, "the read queued", func() bool { return b.Waiting() == 2 })
	stays := readAsync(ctx, b, 3)
	eventually.True(t, 5*time.Second, "the read queued", func() bool { return b.Waiting() == 3 })

	leave()
	if a := answer(t, leaver); !errors.Is(a.err, context.Canceled) {
		t.Fatalf("a waiting caller that left: %+v", a)
	}
	close(p.gates[1])
	answer(t, first)
	if k := <-p.started; k != 2 {
		t.Fatalf("started %d", k)
	}
	leaveBatch()
	if a := answer(t, inBatch); !errors.Is(a.err, context.Canceled) {
		t.Fatalf("a caller that left its batch: %+v", a)
	}
	close(p.gates[2])
	if a := answer(t, stays); a.val != 30 || a.err != nil {
		t.Fatalf("the caller that stayed in the batch: %+v", a)
	}
	if got, want := p.sent(), [][]int64{{1}, {2, 3}}; !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("batches sent %v: the read that left before going out was sent", got)
	}

	// Every caller of a batch leaves: its read is cancelled.
	held := readAsync(ctx, b, 8)
	<-p.started
	lastCtx, leaveLast := context.WithCancel(ctx)
	last := readAsync(lastCtx, b, 7)
	eventually.True(t, 5*time.Second, "the read queued", func() bool { return b.Waiting() == 1 })
	close(p.gates[8])
	answer(t, held)
	<-p.started
	leaveLast()
	if a := answer(t, last); !errors.Is(a.err, context.Canceled) {
		t.Fatalf("the last caller: %+v", a)
	}
	if k := <-p.cancelled; k != 7 {
		t.Fatalf("cancelled %d", k)
	}
	// Its place is free again.
	if v, err := b.Read(ctx, 4); v != 40 || err != nil {
		t.Fatalf("after: %d, %v", v, err)
	}
}
