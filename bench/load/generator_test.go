package main

import (
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// answerServer is a real HTTP server on a loopback port recording the
// number each request carries in X-Seq and whether its body was the
// template that number picks.
type answerServer struct {
	addr string
	// answer is the body answered with a 200; status is the code.
	answer atomic.Pointer[string]
	status atomic.Int64
	// closing makes every answer close its connection.
	closing atomic.Bool

	mu       sync.Mutex
	seen     map[int64]int
	mismatch int
}

func startAnswerServer(t *testing.T, templates int) *answerServer {
	t.Helper()
	s := &answerServer{seen: map[int64]int{}}
	ok := `{"status":true,"is_active":true,"message":"Verified.","data":null}`
	s.answer.Store(&ok)
	s.status.Store(200)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: func(c *fasthttp.RequestCtx) {
		seq, err := strconv.ParseInt(string(c.Request.Header.Peek("X-Seq")), 10, 64)
		body, _ := strconv.Atoi(string(c.PostBody()))
		s.mu.Lock()
		s.seen[seq]++
		if err != nil || seq%int64(templates) != int64(body) {
			s.mismatch++
		}
		s.mu.Unlock()
		if s.closing.Load() {
			c.SetConnectionClose()
		}
		c.SetStatusCode(int(s.status.Load()))
		c.SetContentType("application/json")
		c.SetBodyString(*s.answer.Load())
	}}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	s.addr = ln.Addr().String()
	return s
}

// seqTraffic is templates requests, request i with body i and a header
// X-Seq holding seqMarker.
func seqTraffic(t *testing.T, addr string, templates int) *traffic {
	t.Helper()
	reqs := make([]*fasthttp.Request, templates)
	for i := range reqs {
		reqs[i] = newRequest("http://"+addr+"/", "key", []byte(strconv.Itoa(i)), "")
		reqs[i].Header.Set("X-Seq", seqMarker)
	}
	tr, err := newTraffic(reqs)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func generators(t *testing.T) map[string]generator {
	t.Helper()
	gens := map[string]generator{"go": leanClient{}, "fasthttp": fasthttpClient{}}
	if _, err := exec.LookPath("wrk"); err == nil {
		w, err := newGenerator("wrk", 2)
		if err != nil {
			t.Fatal(err)
		}
		gens["wrk"] = w
	} else {
		t.Log("wrk is not installed: its generator is not tested (apt-get install -y wrk)")
	}
	return gens
}

// Every generator counts as served only a 200 holding "status":true (a
// business failure of the API is a 200 with "status":false), gives each
// request a number no earlier run of the phase gave (activate's new host
// per request, round after round), and sends the template that number
// picks.
func TestGeneratorsNumberRequestsAcrossRunsAndCountOnlyServedAnswers(t *testing.T) {
	for name, gen := range generators(t) {
		t.Run(name, func(t *testing.T) {
			const templates = 3
			s := startAnswerServer(t, templates)
			tr := seqTraffic(t, s.addr, templates)
			o := options{conns: 4, warmup: 0, duration: 300 * time.Millisecond, phases: regexp.MustCompile("")}

			served := gen.run(s.addr, os.Getpid(), o, tr)
			if served.rps <= 0 || served.errors != 0 || served.p50 <= 0 || served.p99 < served.p50 {
				t.Fatalf("all answers served: %+v, want throughput, latencies and no errors", served)
			}

			failed := `{"status":false,"is_active":false,"message":"Invalid license.","status_code":"INVALID_LICENSE","data":null}`
			s.answer.Store(&failed)
			r := gen.run(s.addr, os.Getpid(), o, tr)
			if r.rps != 0 || r.errors == 0 {
				t.Fatalf("every answer a 200 with status false: %+v, want none served and errors", r)
			}

			ok := `{"status":true}`
			s.answer.Store(&ok)
			s.status.Store(500)
			r = gen.run(s.addr, os.Getpid(), o, tr)
			if r.rps != 0 || r.errors == 0 {
				t.Fatalf("every answer a 500: %+v, want none served and errors", r)
			}

			s.mu.Lock()
			defer s.mu.Unlock()
			for seq, n := range s.seen {
				if n > 1 {
					t.Fatalf("request number %d sent %d times over the phase's runs", seq, n)
				}
			}
			if s.mismatch > 0 {
				t.Fatalf("%d requests of %d were not the template their number picks", s.mismatch, len(s.seen))
			}
		})
	}
}

// A server closing the connection after an answer (as it does after some
// errors) costs the lean client a new connection, not the phase.
func TestLeanClientReconnectsWhenTheServerCloses(t *testing.T) {
	s := startAnswerServer(t, 1)
	s.closing.Store(true)
	tr := seqTraffic(t, s.addr, 1)
	r := leanClient{}.run(s.addr, os.Getpid(), options{conns: 2, duration: 200 * time.Millisecond}, tr)
	s.mu.Lock()
	sent := len(s.seen)
	s.mu.Unlock()
	if r.errors != 0 || r.rps <= 0 || sent < 4 {
		t.Fatalf("answers closing their connections: %+v after %d requests, want all served over new connections", r, sent)
	}
}

// Requests without a marker are sent as they are, round-robin.
func TestTrafficWithoutMarkerSendsRequestsAsTheyAre(t *testing.T) {
	reqs := []*fasthttp.Request{
		newRequest("http://127.0.0.1:1/a", "key", []byte("a"), ""),
		newRequest("http://127.0.0.1:1/b", "key", []byte("b"), ""),
	}
	tr, err := newTraffic(reqs)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"/a", "/b", "/a"} {
		got := tr.request(nil, int64(i))
		if !regexp.MustCompile(`^POST ` + want + ` HTTP/1.1\r\n`).Match(got) {
			t.Fatalf("request %d: %q, want POST %s", i, got, want)
		}
	}
	reqs[1].Header.Set("X-Seq", seqMarker)
	if _, err := newTraffic(reqs); err == nil {
		t.Fatal("a phase with the marker in some requests only was accepted")
	}
}

// -cpuprofile: the profile a server's profiler writes after the warm-up
// lands in the file named.
func TestProfileServerWritesTheServersProfile(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	srv := &http.Server{Handler: mux}
	go func() { _ = srv.Serve(ln) }()
	defer func() { _ = srv.Close() }()

	file := filepath.Join(t.TempDir(), "verify-cache-off-round0.pprof")
	if err := <-profileServer(ln.Addr().String(), 0, time.Second, file); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) < 2 || raw[0] != 0x1f || raw[1] != 0x8b { // pprof's profiles are gzipped
		t.Fatalf("%s holds %d bytes, not a gzipped profile", file, len(raw))
	}
}

// The set-up's setupWorkers calls at once fit in the client of a server
// whatever -conns is: with -conns 1 its two connections refused the
// third call ("no free connections available to host").
func TestSetupCallsFitInTheHostClientWithFewConnections(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// Every call waits until setupWorkers are in at once.
	var (
		mu      sync.Mutex
		arrived int
		all     = make(chan struct{})
		ended   = make(chan struct{})
	)
	srv := &fasthttp.Server{Handler: func(c *fasthttp.RequestCtx) {
		mu.Lock()
		if arrived++; arrived == setupWorkers {
			close(all)
		}
		mu.Unlock()
		select {
		case <-all:
		case <-ended: // the test failed: Shutdown waits for the handlers
		}
		c.SetBodyString(`{"status":true}`)
	}}
	go func() { _ = srv.Serve(ln) }()
	defer func() { _ = srv.Shutdown() }()
	defer close(ended)

	api := apiClient{hc: newHostClient(ln.Addr().String(), 1)}
	if err := parallel(setupWorkers*4, setupWorkers, func(int) error {
		return api.call("/", "key", map[string]any{}, nil)
	}); err != nil {
		t.Fatal(err)
	}
}

// wrk checks every answer's body in the warm-up (its Lua check costs wrk
// CPU the outside check's wrk does not spend) and, while measuring, the
// status codes: a 200 with "status":false in the warm-up and a 500 while
// measuring both count as errors.
func TestWrkChecksBodiesInTheWarmUpAndStatusesWhileMeasuring(t *testing.T) {
	gen, ok := generators(t)["wrk"]
	if !ok {
		t.Skip("wrk is not installed")
	}
	s := startAnswerServer(t, 1)
	tr := seqTraffic(t, s.addr, 1)
	o := options{conns: 4, warmup: time.Second, duration: time.Second}

	failed := `{"status":false,"is_active":false,"message":"Invalid license.","data":null}`
	s.answer.Store(&failed)
	if r := gen.run(s.addr, os.Getpid(), o, tr); r.errors == 0 {
		t.Fatalf("every answer a 200 with status false: %+v, want the warm-up's errors", r)
	}

	ok200 := `{"status":true}`
	s.answer.Store(&ok200)
	s.status.Store(500)
	if r := gen.run(s.addr, os.Getpid(), o, tr); r.rps != 0 || r.errors == 0 {
		t.Fatalf("every answer a 500: %+v, want none served and errors", r)
	}
}
