package cluster

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/licensor/licensor/app/imports"
	"github.com/licensor/licensor/app/web/webtest"
	"github.com/licensor/licensor/test/eventually"
	"github.com/licensor/licensor/test/freeport"
)

// TestSIGKILLDuringImport kills the node running a large customer import
// (batches of imports.DefaultBatchSize rows, one transaction each) while
// activations and verifies go on: what was committed is whole batches
// only, another node takes the job up (River's rescue, after
// jobs.import_timeout, shortened here) and finishes it after the last
// committed batch, and in the end every row is imported exactly once and
// the import's report adds up.
func TestSIGKILLDuringImport(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts licensor processes")
	}
	const rows = 8 * imports.DefaultBatchSize
	c := startCluster(t, options{nodes: 1, env: []string{
		"LICENSOR_JOBS_TIMEOUT=3s",
		"LICENSOR_JOBS_RESCUE_AFTER=5s",
		"LICENSOR_JOBS_IMPORT_TIMEOUT=25s",
		"LICENSOR_JOBS_MAX_RETRY_WAIT=1s",
	}})
	var live atomic.Value // the node the load goes to
	live.Store(c.nodes[0])
	tr := c.startTraffic(t, "IMPKILL", 4, 20*time.Millisecond, func() string { return live.Load().(string) })

	var file strings.Builder
	file.WriteString("name,email,client_id\n")
	for i := range rows {
		fmt.Fprintf(&file, "Imported %d,imp-%d@example.com,imp-%06d\n", i, i, i)
	}
	admin := c.browser(t, c.nodes[0])
	admin.signIn(t)
	uploaded := time.Now()
	res, body := admin.postFile(t, "/admin/imports", "/admin/imports", map[string]string{"kind": "customers"}, "file", "many.csv", []byte(file.String()))
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("upload: %d\n%s", res.StatusCode, body)
	}
	show := res.Header.Get("Location")
	var id int64
	if _, err := fmt.Sscanf(show, "/admin/imports/%d", &id); err != nil {
		t.Fatalf("upload went to %q", show)
	}
	t.Logf("%d rows uploaded and checked in %s", rows, time.Since(uploaded).Round(time.Millisecond))
	_, page := admin.get(t, show)
	start := url.Values{"_csrf": {webtest.CSRFFromHTML(page)}, "on_duplicate": {"skip"}, "mode": {"good"}}
	if res, body := admin.post(t, show+"/start", start); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("start: %d\n%s", res.StatusCode, body)
	}

	// Kill node 1 once it has committed a batch or two, well before the end.
	type progress struct {
		status                       string
		processed, inserted, batches int
		nextLine                     int
	}
	read := func() progress {
		var p progress
		if err := c.db.QueryRow(`SELECT status, processed, inserted, batches, next_line FROM imports WHERE id = $1`, id).
			Scan(&p.status, &p.processed, &p.inserted, &p.batches, &p.nextLine); err != nil {
			t.Fatal(err)
		}
		return p
	}
	imported := func() (all, distinct int) {
		if err := c.db.QueryRow(`SELECT count(*), count(DISTINCT lower(email)) FROM customers WHERE email LIKE 'imp-%'`).Scan(&all, &distinct); err != nil {
			t.Fatal(err)
		}
		return all, distinct
	}
	started := time.Now()
	for {
		p := read()
		if p.batches >= 2 {
			if p.processed >= rows-2*imports.DefaultBatchSize {
				t.Fatalf("the import was too quick to kill mid-way: %+v after %s", p, time.Since(started))
			}
			break
		}
		if time.Since(started) > 60*time.Second {
			t.Fatalf("the import did not get going on node 1: %+v", p)
		}
		// Polled closely rather than with eventually's backoff: the kill
		// must land mid-way through the import.
		time.Sleep(10 * time.Millisecond)
	}
	if err := c.procs[0].Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_, _ = c.procs[0].Process.Wait()
	killed := time.Now()
	// What node 1 left: whole batches only, matching its recorded progress
	// (both read in one snapshot: a commit node 1 sent just before it died
	// may land between two statements).
	var p progress
	var all int
	if err := c.db.QueryRow(`SELECT status, processed, inserted, batches, next_line,
			(SELECT count(*) FROM customers WHERE email LIKE 'imp-%') FROM imports WHERE id = $1`, id).
		Scan(&p.status, &p.processed, &p.inserted, &p.batches, &p.nextLine, &all); err != nil {
		t.Fatal(err)
	}
	t.Logf("killed node 1 %s into the import: %+v, %d rows in the database", killed.Sub(started).Round(time.Millisecond), p, all)
	if p.status != imports.StatusRunning || all != p.inserted || p.processed != p.batches*imports.DefaultBatchSize ||
		p.nextLine != p.processed+1 || p.processed == rows {
		t.Fatalf("after the kill: progress %+v, rows stored %d: want whole batches, recorded", p, all)
	}

	node2 := fmt.Sprintf("127.0.0.1:%d", freeport.Port(t))
	c.startNode(t, node2)
	waitHealthy(t, c.nodes[1])
	live.Store(c.nodes[1])
	if !eventually.Within(120*time.Second-time.Since(killed), func() bool {
		p = read()
		return p.status != imports.StatusRunning && p.status != imports.StatusQueued
	}) {
		t.Fatalf("node 2 did not finish the import within 120 s of the kill: %+v", p)
	}
	t.Logf("node 2 finished the import %s after node 1 was killed", time.Since(killed).Round(time.Second))
	awaitAnswers(t, &tr.seen, http.StatusOK, 10, "the load on node 2 after the import")
	tr.finish(t, c)

	var report struct {
		status, errText          string
		updated, skipped, total  int
		attempts, runners        int
		finishedLogs, startedLog int
	}
	if err := c.db.QueryRow(`SELECT i.status, i.error, i.processed, i.inserted, i.updated, i.skipped, i.batches, i.total_rows,
			(SELECT count(*) FROM activity_log WHERE type = 'import.finished' AND data->>'import_id' = i.id::text),
			(SELECT count(*) FROM activity_log WHERE type = 'import.started' AND data->>'import_id' = i.id::text)
		FROM imports i WHERE i.id = $1`, id).Scan(&report.status, &report.errText, &p.processed, &p.inserted, &report.updated,
		&report.skipped, &p.batches, &report.total, &report.finishedLogs, &report.startedLog); err != nil {
		t.Fatal(err)
	}
	if report.status != imports.StatusDone || report.errText != "" || report.total != rows || p.processed != rows || p.inserted != rows ||
		report.updated != 0 || report.skipped != 0 || p.batches != rows/imports.DefaultBatchSize || report.finishedLogs != 1 || report.startedLog != 1 {
		t.Fatalf("import report: %+v, progress %+v", report, p)
	}
	all, distinct := imported()
	if all != rows || distinct != rows {
		t.Fatalf("customers imported: %d (%d distinct), want %d exactly once each", all, distinct, rows)
	}
	// One job, run by node 1 and then by node 2.
	if err := c.db.QueryRow(`SELECT count(*), coalesce(max(attempt), 0), coalesce(max((SELECT count(DISTINCT x) FROM unnest(attempted_by) x)), 0)
		FROM river_job WHERE kind = 'import' AND state = 'completed' AND (args->>'import_id')::bigint = $1`, id).
		Scan(new(int), &report.attempts, &report.runners); err != nil {
		t.Fatal(err)
	}
	if report.attempts < 2 || report.runners < 2 {
		t.Fatalf("the import job: %d attempts by %d nodes, want a rescue by the second node", report.attempts, report.runners)
	}
	// The console shows the report.
	other := c.browser(t, c.nodes[1])
	other.signIn(t)
	if res, page := other.get(t, show); res.StatusCode != http.StatusOK || !strings.Contains(page, fmt.Sprint(rows)) {
		t.Fatalf("import page on node 2: %d", res.StatusCode)
	}
}
