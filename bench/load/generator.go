package main

import (
	"bufio"
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// The load generator shares the machine's two cores with the server and
// PostgreSQL, so what it costs per request is taken from what it measures:
// fasthttp's HostClient took about 15 µs of CPU per request, as much as
// half of what a cache-off verify costs the server, while pgbench's C
// client costs a few. The outside check drives verify with wrk, so
// bench/load drives its phases with wrk when it is installed, else with a
// lean Go client written for this (docs/benchmarks.md#load-generators).

// A generator sends a phase's requests over o.conns kept-alive connections
// to addr for o.warmup (not measured), then for o.duration, and measures
// the phase: throughput and p50/p99 of the answers that are a 200 with
// `"status":true`, and the CPU each costs the server (serverPid), the
// generator itself and PostgreSQL (the backends of o.db).
type generator interface {
	// describe says which generator this is, for the report.
	describe() string
	run(addr string, serverPid int, o options, t *traffic) result
}

// newGenerator returns the generator named by -client: "wrk", "go",
// "fasthttp", or "auto" (wrk if it is installed, else go).
func newGenerator(name string, wrkThreads int) (generator, error) {
	switch name {
	case "auto":
		if path, err := exec.LookPath("wrk"); err == nil {
			return newWrk(path, wrkThreads)
		}
		return leanClient{}, nil
	case "wrk":
		path, err := exec.LookPath("wrk")
		if err != nil {
			return nil, fmt.Errorf("-client wrk: %w (apt-get install -y wrk)", err)
		}
		return newWrk(path, wrkThreads)
	case "go":
		return leanClient{}, nil
	case "fasthttp":
		return fasthttpClient{}, nil
	}
	return nil, fmt.Errorf("-client %q: want auto, wrk, go or fasthttp", name)
}

// seqMarker in a request stands for a number unique to each request sent
// (activate's new host per request).
const seqMarker = "{seq}"

// traffic is a phase's requests in their HTTP/1.1 wire form, sent
// round-robin. next numbers them across all the phase's runs, so the
// numbers replacing seqMarker never repeat from one round to the next.
type traffic struct {
	reqs [][]byte
	// pre and post are each request split at its seqMarker; nil when the
	// requests carry none.
	pre, post [][]byte
	next      atomic.Int64
}

// newTraffic serialises reqs, each sent as is or, when it holds seqMarker
// (once, in a header: the fasthttp generator replaces it there), with the
// marker replaced per request.
func newTraffic(reqs []*fasthttp.Request) (*traffic, error) {
	t := &traffic{}
	for _, r := range reqs {
		var b bytes.Buffer
		if _, err := r.WriteTo(&b); err != nil {
			return nil, fmt.Errorf("serialise a request: %w", err)
		}
		t.reqs = append(t.reqs, b.Bytes())
	}
	for i, r := range t.reqs {
		pre, post, found := bytes.Cut(r, []byte(seqMarker))
		if i > 0 && found != (t.pre != nil) {
			return nil, errors.New("either every request of a phase holds " + seqMarker + " or none does")
		}
		if found {
			t.pre, t.post = append(t.pre, pre), append(t.post, post)
		}
	}
	return t, nil
}

// request is request number i: its wire form, appended to dst[:0] when it
// must be made.
func (t *traffic) request(dst []byte, i int64) []byte {
	k := i % int64(len(t.reqs))
	if t.pre == nil {
		return t.reqs[k]
	}
	dst = append(dst[:0], t.pre[k]...)
	dst = strconv.AppendInt(dst, i, 10)
	return append(dst, t.post[k]...)
}

// meter measures one phase's window: the machine's, the server's and
// PostgreSQL's CPU from open to close.
type meter struct {
	machine, server cpuTimes
	serverPid       int
	db              *dbCPU
	t0              time.Time
}

func openMeter(serverPid int, db string) *meter {
	return &meter{machine: machineCPU(), server: processCPU(serverPid), serverPid: serverPid, db: trackDBCPU(db), t0: time.Now()}
}

// close ends the window and fills r's CPU figures for n successful
// requests, the client having used clientCPU.
func (m *meter) close(r *result, n float64, clientCPU time.Duration) {
	machine, server, dbBusy := machineCPU(), processCPU(m.serverPid), m.db.stop()
	if n > 0 {
		r.serverCPU = float64(server.busy-m.server.busy) / n / float64(time.Microsecond)
		r.clientCPU = float64(clientCPU) / n / float64(time.Microsecond)
		r.dbCPU = float64(dbBusy) / n / float64(time.Microsecond)
	}
	if total := machine.total - m.machine.total; total > 0 {
		r.busy = float64(machine.busy-m.machine.busy) / float64(total)
		r.clientShare = float64(clientCPU) / float64(total)
	}
}

// latencies sorts samples and returns their p50 and p99.
func latencies(samples []time.Duration) (p50, p99 time.Duration) {
	if len(samples) == 0 {
		return 0, 0
	}
	sort.Slice(samples, func(i, j int) bool { return samples[i] < samples[j] })
	return samples[len(samples)/2].Round(10 * time.Microsecond), samples[len(samples)*99/100].Round(10 * time.Microsecond)
}

// leanClient is a Go generator doing little more than wrk does: a raw
// connection per worker, each request written from its prepared bytes in
// one write, the answer read to its status line, Content-Length and body,
// which must hold `"status":true`. No per-request deadline (one for the
// whole run), no header parsing beyond the length, no copies.
type leanClient struct{}

func (leanClient) describe() string {
	return "a lean Go client (raw connections, prepared request bytes)"
}

func (leanClient) run(addr string, serverPid int, o options, t *traffic) result {
	var (
		errs      atomic.Int64
		measuring atomic.Bool
		mu        sync.Mutex
		samples   []time.Duration
		wg        sync.WaitGroup
	)
	start := time.Now()
	measureAt := start.Add(o.warmup)
	deadline := measureAt.Add(o.duration)
	for range o.conns {
		wg.Go(func() {
			var c *answerConn
			defer func() { c.close() }()
			var buf []byte
			local := make([]time.Duration, 0, 8192)
			for {
				t0 := time.Now()
				if !t0.Before(deadline) {
					break
				}
				if c == nil {
					var err error
					if c, err = dialAnswers(addr, deadline.Add(10*time.Second)); err != nil {
						errs.Add(1)
						return
					}
				}
				on := measuring.Load()
				buf = t.request(buf, t.next.Add(1)-1)
				ok, err := c.roundTrip(buf)
				if err != nil { // the connection is lost: a new one
					c.close()
					c = nil
				}
				if !on {
					continue
				}
				if !ok {
					errs.Add(1)
					continue
				}
				local = append(local, time.Since(t0))
			}
			mu.Lock()
			samples = append(samples, local...)
			mu.Unlock()
		})
	}
	time.Sleep(time.Until(measureAt))
	m, self := openMeter(serverPid, o.db), selfCPU()
	measuring.Store(true)
	time.Sleep(time.Until(deadline))
	elapsed := time.Since(m.t0)
	endSelf := selfCPU()
	wg.Wait()
	r := result{errors: errs.Load(), rps: float64(len(samples)) / elapsed.Seconds()}
	r.p50, r.p99 = latencies(samples)
	m.close(&r, float64(len(samples)), endSelf.busy-self.busy)
	return r
}

// answerConn is one of the lean client's connections.
type answerConn struct {
	c  net.Conn
	br *bufio.Reader
}

func dialAnswers(addr string, deadline time.Time) (*answerConn, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	if err := c.SetDeadline(deadline); err != nil {
		_ = c.Close()
		return nil, err
	}
	return &answerConn{c: c, br: bufio.NewReaderSize(c, 16<<10)}, nil
}

func (a *answerConn) close() {
	if a != nil {
		_ = a.c.Close()
	}
}

var errAnswer = errors.New("not an HTTP/1.1 answer with a Content-Length")

// roundTrip sends req and reads its answer: ok when it is a 200 whose
// body holds `"status":true`. An error means the connection cannot carry
// another request.
func (a *answerConn) roundTrip(req []byte) (ok bool, err error) {
	if _, err := a.c.Write(req); err != nil {
		return false, err
	}
	line, err := a.br.ReadSlice('\n')
	if err != nil {
		return false, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return false, errAnswer
	}
	status200 := string(line[9:12]) == "200"
	length, closing := -1, false
	for {
		line, err = a.br.ReadSlice('\n')
		if err != nil {
			return false, err
		}
		if len(line) <= 2 { // the blank line ending the header
			break
		}
		name, value, _ := bytes.Cut(line, []byte(":"))
		switch {
		case len(name) == len("Content-Length") && strings.EqualFold(string(name), "Content-Length"):
			if length, err = strconv.Atoi(string(bytes.TrimSpace(value))); err != nil {
				return false, errAnswer
			}
		case len(name) == len("Connection") && strings.EqualFold(string(name), "Connection"):
			closing = bytes.EqualFold(bytes.TrimSpace(value), []byte("close"))
		}
	}
	if length < 0 {
		return false, errAnswer
	}
	if length <= a.br.Size() {
		body, err := a.br.Peek(length)
		if err != nil {
			return false, err
		}
		ok = status200 && bytes.Contains(body, []byte(`"status":true`))
	}
	if _, err := a.br.Discard(length); err != nil {
		return false, err
	}
	if closing {
		return ok, errors.New("the server closes the connection")
	}
	return ok, nil
}

// wrkGen drives a phase with wrk: threads threads, the requests handed to
// wrkScript in a file, one run for the warm-up and one measured.
type wrkGen struct {
	path, version string
	threads       int
}

//go:embed wrk.lua
var wrkScript []byte

func newWrk(path string, threads int) (generator, error) {
	out, _ := exec.Command(path, "-v").CombinedOutput() // wrk -v exits 1 after its banner
	version, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	if !strings.HasPrefix(version, "wrk ") {
		return nil, fmt.Errorf("%s -v: %q is not wrk's banner", path, version)
	}
	version, _, _ = strings.Cut(version, " Copyright")
	return wrkGen{path: path, version: version, threads: max(threads, 1)}, nil
}

func (w wrkGen) describe() string {
	return fmt.Sprintf("%s, %d threads (bodies checked in the warm-up, status codes while measuring; runs of whole seconds)", w.version, w.threads)
}

// wrkSummary is what wrkScript's done() prints.
type wrkSummary struct {
	requests, durationUS, p50US, p99US, socketErrors, failed, lastSeq int64
}

func (w wrkGen) run(addr string, serverPid int, o options, t *traffic) result {
	var r result
	reqFile, err := writeRequests(t)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: wrk:", err)
		return r
	}
	defer func() { _ = os.Remove(reqFile) }()
	script, err := os.CreateTemp("", "licensor-wrk-*.lua")
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: wrk:", err)
		return r
	}
	defer func() { _ = os.Remove(script.Name()) }()
	if _, err := script.Write(wrkScript); err != nil || script.Close() != nil {
		fmt.Fprintln(os.Stderr, "bench: wrk: write its script:", err)
		return r
	}
	// Every answer's body is checked in the warm-up, and while measuring
	// only when there is no warm-up: wrk's Lua response() took about
	// 2 µs of its CPU a request, 15% of its cost at the bare endpoint
	// (docs/benchmarks.md#load-generators), and the outside check's wrk
	// has none. While measuring, wrk counts answers with a status over
	// 399 as failed.
	var warmFailed int64
	if o.warmup > 0 {
		warm, _, err := w.wrk(addr, script.Name(), reqFile, o.warmup, o.conns, t, true)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench: wrk (warm-up):", err)
			return r
		}
		warmFailed = warm.failed + warm.socketErrors
	}
	m := openMeter(serverPid, o.db)
	s, cpu, err := w.wrk(addr, script.Name(), reqFile, o.duration, o.conns, t, o.warmup <= 0)
	if err != nil {
		m.close(&r, 0, 0)
		fmt.Fprintln(os.Stderr, "bench: wrk:", err)
		return r
	}
	ok := float64(s.requests - s.failed)
	r.rps = ok / (float64(s.durationUS) / 1e6)
	r.errors = warmFailed + s.failed + s.socketErrors
	r.p50 = (time.Duration(s.p50US) * time.Microsecond).Round(10 * time.Microsecond)
	r.p99 = (time.Duration(s.p99US) * time.Microsecond).Round(10 * time.Microsecond)
	m.close(&r, ok, cpu)
	return r
}

// wrk runs wrk once for d (whole seconds, at least one: wrk takes no
// less), checking every answer's body when checkBodies, and returns its
// summary and CPU time.
func (w wrkGen) wrk(addr, script, reqFile string, d time.Duration, conns int, t *traffic, checkBodies bool) (wrkSummary, time.Duration, error) {
	var s wrkSummary
	secs := max(1, int(d.Round(time.Second).Seconds()))
	threads := min(w.threads, conns)
	cmd := exec.Command(w.path, "-t", strconv.Itoa(threads), "-c", strconv.Itoa(conns), "-d", strconv.Itoa(secs)+"s",
		"--timeout", "10s", "-s", script, "http://"+addr+"/", "--", reqFile, strconv.FormatInt(t.next.Load(), 10), strconv.Itoa(threads), strconv.FormatBool(checkBodies))
	out, err := cmd.CombinedOutput()
	if err != nil {
		return s, 0, fmt.Errorf("%v\n%s", err, out)
	}
	s, err = parseWrk(out)
	if err != nil {
		return s, 0, err
	}
	// The next run numbers its requests after this one's last.
	t.next.Store(max(t.next.Load(), s.lastSeq+1))
	return s, cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), nil
}

// parseWrk finds the line wrkScript's done() prints in wrk's output.
func parseWrk(out []byte) (wrkSummary, error) {
	var s wrkSummary
	for line := range strings.Lines(string(out)) {
		rest, found := strings.CutPrefix(line, "licensor-wrk ")
		if !found {
			continue
		}
		f := strings.Fields(rest)
		v := []*int64{&s.requests, &s.durationUS, &s.p50US, &s.p99US, &s.socketErrors, &s.failed, &s.lastSeq}
		if len(f) != len(v) {
			break
		}
		for i, p := range v {
			n, err := strconv.ParseFloat(f[i], 64) // Lua's numbers are floats
			if err != nil {
				return s, fmt.Errorf("wrk's summary %q: %w", line, err)
			}
			*p = int64(n)
		}
		return s, nil
	}
	return s, fmt.Errorf("no summary in wrk's output:\n%s", out)
}

// writeRequests writes t's requests for wrkScript: each one's length in
// decimal and a newline, then its bytes.
func writeRequests(t *traffic) (string, error) {
	f, err := os.CreateTemp("", "licensor-wrk-*.requests")
	if err != nil {
		return "", err
	}
	w := bufio.NewWriter(f)
	for _, r := range t.reqs {
		fmt.Fprintf(w, "%d\n", len(r))
		_, _ = w.Write(r)
	}
	if err := w.Flush(); err != nil {
		_ = f.Close()
		return "", err
	}
	return f.Name(), f.Close()
}

// fasthttpClient is the generator bench/load used until 2026-12-07:
// fasthttp's HostClient, each worker's requests parsed from the traffic's
// bytes once, a seqMarker in a header replaced per request. Kept to
// compare with the figures measured with it.
type fasthttpClient struct{}

func (fasthttpClient) describe() string {
	return "fasthttp's HostClient (the generator before 2026-12-07)"
}

func (fasthttpClient) run(addr string, serverPid int, o options, t *traffic) result {
	hc := &fasthttp.HostClient{Addr: addr, MaxConns: o.conns * 2, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second}
	reqs := make([]*fasthttp.Request, len(t.reqs))
	for i, b := range t.reqs {
		reqs[i] = new(fasthttp.Request)
		if err := reqs[i].Read(bufio.NewReader(bytes.NewReader(b))); err != nil {
			fmt.Fprintln(os.Stderr, "bench: parse a request:", err)
			return result{}
		}
	}
	var (
		errs      atomic.Int64
		measuring atomic.Bool
		mu        sync.Mutex
		samples   []time.Duration
		wg        sync.WaitGroup
	)
	start := time.Now()
	measureAt := start.Add(o.warmup)
	deadline := measureAt.Add(o.duration)
	for range o.conns {
		wg.Go(func() {
			resp := fasthttp.AcquireResponse()
			defer fasthttp.ReleaseResponse(resp)
			// A request of its own per worker when a header carries the
			// sequence number.
			own := new(fasthttp.Request)
			var value []byte
			local := make([]time.Duration, 0, 8192)
			for {
				t0 := time.Now()
				if !t0.Before(deadline) {
					break
				}
				on := measuring.Load()
				i := t.next.Add(1) - 1
				req := reqs[i%int64(len(reqs))]
				if t.pre != nil {
					req.CopyTo(own)
					req = own
					for key, v := range req.Header.All() {
						if pre, post, found := bytes.Cut(v, []byte(seqMarker)); found {
							value = append(strconv.AppendInt(append(value[:0], pre...), i, 10), post...)
							req.Header.SetBytesKV(key, value)
							break
						}
					}
				}
				err := hc.DoTimeout(req, resp, 10*time.Second)
				if !on {
					continue
				}
				if err != nil || resp.StatusCode() != 200 || !bytes.Contains(resp.Body(), []byte(`"status":true`)) {
					errs.Add(1)
					continue
				}
				local = append(local, time.Since(t0))
			}
			mu.Lock()
			samples = append(samples, local...)
			mu.Unlock()
		})
	}
	time.Sleep(time.Until(measureAt))
	m, self := openMeter(serverPid, o.db), selfCPU()
	measuring.Store(true)
	time.Sleep(time.Until(deadline))
	elapsed := time.Since(m.t0)
	endSelf := selfCPU()
	wg.Wait()
	r := result{errors: errs.Load(), rps: float64(len(samples)) / elapsed.Seconds()}
	r.p50, r.p99 = latencies(samples)
	m.close(&r, float64(len(samples)), endSelf.busy-self.busy)
	return r
}
