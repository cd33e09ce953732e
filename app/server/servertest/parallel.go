package servertest

import (
	"flag"
	"strconv"
)

// SetParallel makes the package's tests run up to n at a time unless
// -parallel was given; the package's TestMain calls it before m.Run.
//
// go test runs GOMAXPROCS tests at a time by default (two on the CI
// machine), but a test on servertest spends most of its time waiting on
// PostgreSQL rather than using its own CPU: cloning its database from the
// template, dropping it (a checkpoint), its queries. Two at a time left
// the cores mostly idle (app/admin's test process used under a quarter of
// one core); the figures are in docs/testing.md ("How long it takes").
func SetParallel(n int) {
	if !flag.Parsed() {
		flag.Parse()
	}
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set {
		_ = flag.Set("test.parallel", strconv.Itoa(n))
	}
}
