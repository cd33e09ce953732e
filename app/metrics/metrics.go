// Package metrics is a node's Prometheus metrics (docs/deploy.md#metrics):
// one registry per node (nothing global, so the nodes of a test process
// each count their own), the counters the hot paths bump, and collectors
// that read what other packages already keep (the verify cache's and the
// plugin host's atomic counts, the connection pools, the job queue) only
// when Prometheus scrapes.
//
// On the hot paths a count is one atomic add: each labelled child is looked
// up once and kept where the next count finds it without the vector's own
// locked lookup (a request's by its route pattern in a map read without a
// lock, a license operation's usual "OK" on the operation's handle), and
// with no hashing of an interface key per request. Labels come from
// bounded sets (route patterns, the API's status codes, job kinds), never
// from raw paths or input.
package metrics

import (
	"context"
	"database/sql"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

const namespace = "licensor"

// Metrics is one node's registry and its instruments. A nil *Metrics
// counts nothing, so code under test may run without one.
type Metrics struct {
	Registry *prometheus.Registry

	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	// routes is each route pattern's children, read without a lock and
	// replaced by a copy, under httpMu, when a route is first counted.
	routes atomic.Pointer[map[string]*routeKids]
	httpMu sync.Mutex

	api     *prometheus.CounterVec
	apiKids sync.Map // apiKey → prometheus.Counter

	jobs     *prometheus.CounterVec
	jobWait  *prometheus.HistogramVec
	mail     *prometheus.CounterVec
	webhooks *prometheus.CounterVec
}

// routeKids are one route pattern's children by method and status: a
// route answers few of them, so they are a short list scanned in order,
// replaced by a longer copy (under Metrics.httpMu) when one is new.
type routeKids struct {
	kids atomic.Pointer[[]httpChild]
}

type httpChild struct {
	method string
	status int
	count  prometheus.Counter
	took   prometheus.Observer
}

type apiKey struct{ operation, result string }

// New returns a registry holding Go runtime and process metrics and the
// node's own instruments.
func New() *Metrics {
	r := prometheus.NewRegistry()
	m := &Metrics{
		Registry: r,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "http_requests_total",
			Help: "HTTP requests answered, by route pattern, method and status.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by route pattern and method.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method"}),
		api: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "license_requests_total",
			Help: "External API license operations (activate, verify, deactivate, check) by result: OK or the answer's status_code.",
		}, []string{"operation", "result"}),
		jobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "jobs_total",
			Help: "Jobs this node worked, by kind and the state the run left them in (completed, retryable, discarded, cancelled, snoozed).",
		}, []string{"kind", "state"}),
		jobWait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "job_queue_wait_seconds",
			Help:    "Time a job waited, available, before a worker started it, by kind.",
			Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
		}, []string{"kind"}),
		mail: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "mail_deliveries_total",
			Help: "Email delivery attempts by result (sent, failed).",
		}, []string{"result"}),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "webhook_deliveries_total",
			Help: "Outgoing webhook delivery attempts by result (delivered, failed).",
		}, []string{"result"}),
	}
	r.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.requests, m.duration, m.api, m.jobs, m.jobWait, m.mail, m.webhooks,
	)
	return m
}

// Handler serves the registry in Prometheus' text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{})
}

// Request counts one answered HTTP request. route is the matched route's
// pattern ("/api/external/verify", "/admin/licenses/:id"), never the raw
// path.
func (m *Metrics) Request(route, method string, status int, took time.Duration) {
	if m == nil {
		return
	}
	var c *httpChild
	if routes := m.routes.Load(); routes != nil {
		if r := (*routes)[route]; r != nil {
			c = r.find(method, status)
		}
	}
	if c == nil {
		c = m.addHTTPChild(route, method, status)
	}
	c.count.Inc()
	c.took.Observe(took.Seconds())
}

// find is the child of method and status, nil when there is none yet.
func (r *routeKids) find(method string, status int) *httpChild {
	kids := *r.kids.Load()
	for i := range kids {
		if kids[i].status == status && kids[i].method == method {
			return &kids[i]
		}
	}
	return nil
}

// addHTTPChild returns the child of route, method and status, adding it
// (and the route) when it is new.
func (m *Metrics) addHTTPChild(route, method string, status int) *httpChild {
	m.httpMu.Lock()
	defer m.httpMu.Unlock()
	var r *routeKids
	if routes := m.routes.Load(); routes != nil {
		r = (*routes)[route]
	}
	if r == nil {
		r = &routeKids{}
		r.kids.Store(new([]httpChild))
		old := m.routes.Load()
		routes := make(map[string]*routeKids, 1)
		if old != nil {
			routes = make(map[string]*routeKids, len(*old)+1)
			for k, v := range *old {
				routes[k] = v
			}
		}
		routes[route] = r
		m.routes.Store(&routes)
	}
	if c := r.find(method, status); c != nil {
		return c
	}
	old := *r.kids.Load()
	kids := make([]httpChild, len(old), len(old)+1)
	copy(kids, old)
	kids = append(kids, httpChild{
		method: method, status: status,
		count: m.requests.WithLabelValues(route, method, strconv.Itoa(status)),
		took:  m.duration.WithLabelValues(route, method),
	})
	r.kids.Store(&kids)
	return &kids[len(kids)-1]
}

// License counts an external API license operation's answer: result is
// "OK" or the answer's status_code (a fixed set, docs/api/external.md).
func (m *Metrics) License(operation, result string) {
	if m == nil {
		return
	}
	k := apiKey{operation, result}
	v, ok := m.apiKids.Load(k)
	if !ok {
		v, _ = m.apiKids.LoadOrStore(k, m.api.WithLabelValues(operation, result))
	}
	v.(prometheus.Counter).Inc()
}

// LicenseCounter counts one license operation's answers as License does,
// the usual one ("OK") without a look-up: a handle a route keeps.
type LicenseCounter struct {
	m         *Metrics
	operation string
	// ok is the "OK" child, made at the first such answer: the series
	// appears on /metrics when first counted, as License's do.
	ok atomic.Pointer[okCounter]
}

type okCounter struct{ prometheus.Counter }

// LicenseCounter returns operation's counter; nil (counting nothing)
// when m is nil.
func (m *Metrics) LicenseCounter(operation string) *LicenseCounter {
	if m == nil {
		return nil
	}
	return &LicenseCounter{m: m, operation: operation}
}

// Count counts an answer: result is "OK" or the answer's status_code.
func (l *LicenseCounter) Count(result string) {
	if l == nil {
		return
	}
	if result != "OK" {
		l.m.License(l.operation, result)
		return
	}
	ok := l.ok.Load()
	if ok == nil {
		ok = &okCounter{l.m.api.WithLabelValues(l.operation, result)}
		l.ok.Store(ok)
	}
	ok.Inc()
}

// Job kinds whose runs are deliveries (jobqueue/jobargs).
const (
	mailKind    = "send_mail"
	webhookKind = "deliver_webhook"
)

// Job counts one run of a job of kind that left it in state, having waited
// wait in the queue.
func (m *Metrics) Job(kind, state string, wait time.Duration) {
	if m == nil {
		return
	}
	m.jobs.WithLabelValues(kind, state).Inc()
	m.jobWait.WithLabelValues(kind).Observe(wait.Seconds())
	ok := state == "completed"
	switch kind {
	case mailKind:
		m.mail.WithLabelValues(map[bool]string{true: "sent", false: "failed"}[ok]).Inc()
	case webhookKind:
		m.webhooks.WithLabelValues(map[bool]string{true: "delivered", false: "failed"}[ok]).Inc()
	}
}

// CacheCounter is what the verify cache counts (licensing.ActivationCache).
type CacheCounter interface {
	Counts() (hits, misses, invalidations uint64)
}

// VerifyCache exports c's counts, read at each scrape.
func (m *Metrics) VerifyCache(c CacheCounter) {
	if m == nil || c == nil {
		return
	}
	m.Registry.MustRegister(funcCollector{
		desc: prometheus.NewDesc(namespace+"_verify_cache_total",
			"Verify cache lookups (hit, miss) and entries dropped by a change (invalidation).", []string{"event"}, nil),
		collect: func(desc *prometheus.Desc, ch chan<- prometheus.Metric) {
			h, mi, inv := c.Counts()
			ch <- prometheus.MustNewConstMetric(desc, prometheus.CounterValue, float64(h), "hit")
			ch <- prometheus.MustNewConstMetric(desc, prometheus.CounterValue, float64(mi), "miss")
			ch <- prometheus.MustNewConstMetric(desc, prometheus.CounterValue, float64(inv), "invalidation")
		},
	})
}

// PluginStats is one plugin's counts (plugins/host).
type PluginStats struct {
	Name                    string
	Calls, Errors, Restarts uint64
	Running                 bool
}

// Plugins exports the plugins' counts, read at each scrape from list.
func (m *Metrics) Plugins(list func() []PluginStats) {
	if m == nil {
		return
	}
	calls := prometheus.NewDesc(namespace+"_plugin_calls_total", "Calls to a plugin.", []string{"plugin"}, nil)
	errs := prometheus.NewDesc(namespace+"_plugin_errors_total", "Calls to a plugin that failed (timeout, crash, the plugin's own error).", []string{"plugin"}, nil)
	restarts := prometheus.NewDesc(namespace+"_plugin_restarts_total", "Restarts of a plugin's process after a crash.", []string{"plugin"}, nil)
	up := prometheus.NewDesc(namespace+"_plugin_up", "1 while the plugin's process runs.", []string{"plugin"}, nil)
	m.Registry.MustRegister(funcCollector{
		desc: calls, others: []*prometheus.Desc{errs, restarts, up},
		collect: func(_ *prometheus.Desc, ch chan<- prometheus.Metric) {
			for _, p := range list() {
				ch <- prometheus.MustNewConstMetric(calls, prometheus.CounterValue, float64(p.Calls), p.Name)
				ch <- prometheus.MustNewConstMetric(errs, prometheus.CounterValue, float64(p.Errors), p.Name)
				ch <- prometheus.MustNewConstMetric(restarts, prometheus.CounterValue, float64(p.Restarts), p.Name)
				ch <- prometheus.MustNewConstMetric(up, prometheus.GaugeValue, map[bool]float64{true: 1}[p.Running], p.Name)
			}
		},
	})
}

// SQLPool exports a database/sql pool's statistics (go_sql_*) as
// db_name="name".
func (m *Metrics) SQLPool(name string, d *sql.DB) {
	if m == nil || d == nil {
		return
	}
	m.Registry.MustRegister(collectors.NewDBStatsCollector(d, name))
}

// PgxPool exports a pgx pool's statistics (River's and the listener's
// pool) as pool="name".
func (m *Metrics) PgxPool(name string, p *pgxpool.Pool) {
	if m == nil || p == nil {
		return
	}
	lbl := prometheus.Labels{"pool": name}
	total := prometheus.NewDesc(namespace+"_pgx_conns", "Connections of a pgx pool by state (acquired, idle) and its maximum (max).", []string{"state"}, lbl)
	acquires := prometheus.NewDesc(namespace+"_pgx_acquires_total", "Connections acquired from a pgx pool.", nil, lbl)
	waits := prometheus.NewDesc(namespace+"_pgx_acquire_waits_total", "Acquires from a pgx pool that had to wait for a connection.", nil, lbl)
	m.Registry.MustRegister(funcCollector{
		desc: total, others: []*prometheus.Desc{acquires, waits},
		collect: func(_ *prometheus.Desc, ch chan<- prometheus.Metric) {
			s := p.Stat()
			ch <- prometheus.MustNewConstMetric(total, prometheus.GaugeValue, float64(s.AcquiredConns()), "acquired")
			ch <- prometheus.MustNewConstMetric(total, prometheus.GaugeValue, float64(s.IdleConns()), "idle")
			ch <- prometheus.MustNewConstMetric(total, prometheus.GaugeValue, float64(s.MaxConns()), "max")
			ch <- prometheus.MustNewConstMetric(acquires, prometheus.CounterValue, float64(s.AcquireCount()))
			ch <- prometheus.MustNewConstMetric(waits, prometheus.CounterValue, float64(s.EmptyAcquireCount()))
		},
	})
}

// Queue exports the job queue's backlog (jobs not finalized, by kind and
// state), asked of the database at each scrape within a second.
func (m *Metrics) Queue(q func(ctx context.Context) ([]QueueCount, error)) {
	if m == nil {
		return
	}
	desc := prometheus.NewDesc(namespace+"_job_queue", "Jobs waiting or running in the queue (all nodes), by kind and state.", []string{"kind", "state"}, nil)
	failed := prometheus.NewDesc(namespace+"_job_queue_scrape_errors_total", "Scrapes whose job-queue query failed.", nil, nil)
	var errs atomic.Uint64
	m.Registry.MustRegister(funcCollector{
		desc: desc, others: []*prometheus.Desc{failed},
		collect: func(_ *prometheus.Desc, ch chan<- prometheus.Metric) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			rows, err := q(ctx)
			if err != nil {
				errs.Add(1)
			}
			ch <- prometheus.MustNewConstMetric(failed, prometheus.CounterValue, float64(errs.Load()))
			for _, r := range rows {
				ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, float64(r.Count), r.Kind, r.State)
			}
		},
	})
}

// QueueCount is one (kind, state) of the job queue.
type QueueCount struct {
	Kind, State string
	Count       int64
}

// Gauge exports a value read at each scrape (the replicas' lag, …).
func (m *Metrics) Gauge(name, help string, labels []string, read func(set func(v float64, labelValues ...string))) {
	if m == nil {
		return
	}
	desc := prometheus.NewDesc(namespace+"_"+name, help, labels, nil)
	m.Registry.MustRegister(funcCollector{
		desc: desc,
		collect: func(_ *prometheus.Desc, ch chan<- prometheus.Metric) {
			read(func(v float64, lv ...string) {
				ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, v, lv...)
			})
		},
	})
}

// funcCollector is a collector whose values are read when scraped.
type funcCollector struct {
	desc    *prometheus.Desc
	others  []*prometheus.Desc
	collect func(desc *prometheus.Desc, ch chan<- prometheus.Metric)
}

func (f funcCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- f.desc
	for _, d := range f.others {
		ch <- d
	}
}

func (f funcCollector) Collect(ch chan<- prometheus.Metric) { f.collect(f.desc, ch) }
