// Package clockscan holds the repository-wide check that the tests are
// timeless (docs/architecture.md, "Timeless tests"): its test parses every
// test file and fails on a fixed date (a "2026-11-28…" string or a
// time.Date with a literal year) unless the test gives that date to the
// clock of the code under test, or the date is one the wall clock can
// never reach or leave within the years the suite must pass in; and it
// fails on a time.Now() in plugins/ and jobs/ that is not on its
// allow-list with the reason the wall clock is right there. It has no
// code of its own.
package clockscan
