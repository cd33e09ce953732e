package db

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
)

// ReplicaOptions configure the read pool (docs/deploy.md#read-replicas).
type ReplicaOptions struct {
	// URLs are the streaming replicas (config database.replica_urls).
	URLs []string
	// MaxLag is the replay lag past which a replica is skipped
	// (database.replica_max_lag).
	MaxLag time.Duration
	// Every is how often each replica's lag is asked; 0 is 500 ms.
	Every  time.Duration
	Logger *slog.Logger
}

// replicaLagSQL is a replica's replay lag in seconds: 0 when it has
// replayed all it received (an idle primary sends nothing, and the last
// replayed transaction's age then says nothing), else the age of the last
// replayed transaction. Not in recovery (promoted, or not a replica) is
// reported for the caller to skip it.
const replicaLagSQL = `SELECT pg_is_in_recovery(),
	CASE WHEN NOT pg_is_in_recovery() OR pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
		ELSE coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0) END::float8,
	coalesce(pg_last_wal_replay_lsn()::text, '0/0')`

// primaryLSNSQL is where the primary's WAL ends: every transaction
// committed before it was asked is at or before it. The insert position,
// not pg_current_wal_lsn's write position: with synchronous_commit off a
// commit returns before its record is written.
const primaryLSNSQL = `SELECT pg_current_wal_insert_lsn()::text`

// replica is one replica and what its watcher last saw.
type replica struct {
	name string // host:port, for logs and metrics
	host string
	port uint16
	cfg  *pgx.ConnConfig
	// healthy: answered within the last check and at most MaxLag behind.
	healthy atomic.Bool
	lag     atomic.Int64 // nanoseconds; -1 when unknown
	// replayed is a moment (time.Since(epoch), nanoseconds) before which
	// every commit on the primary has been replayed here: the primary's
	// WAL end asked at that moment (sampleLSN, sampledAt; the watcher's
	// own) was reached by the replica's replay at a later check.
	replayed             atomic.Int64
	sampleLSN, sampledAt int64
}

// Replicas is the read pool: connections to a healthy replica, or to the
// primary while none is. It is a *bun.DB like DB.Bun: reads that tolerate
// a little lag take it (DB.Reader) and nothing else changes for them.
//
// A replica is healthy while its watcher reaches it and its replay lag is
// at most MaxLag. New connections go to the healthy replicas in turn;
// a connection whose replica has fallen out of health (or one to the
// primary while a replica is healthy again) is dropped when it is next
// taken from the pool. A query whose connection fails (the replica went
// away mid-load) marks the replica unhealthy and is run again on a new
// connection — to another replica or the primary — by database/sql, so
// the caller sees no error: the pool holds reads only, which are safe to
// repeat.
type Replicas struct {
	Bun *bun.DB
	SQL *sql.DB

	replicas []*replica
	primary  *pgx.ConnConfig
	maxLag   time.Duration
	next     atomic.Uint64
	logger   *slog.Logger

	stop chan struct{}
	done sync.WaitGroup
}

// The application_name of the read pool's connections and of the lag
// checks' (on the replicas and the primary), so pg_stat_activity tells
// them from the rest (docs/deploy.md#read-replicas).
const (
	ReadAppName  = "licensor-read"
	CheckAppName = "licensor-replica-check"
)

// targetKey is the pgconn CustomData key naming a connection's replica
// (its index), or -1 for the primary.
const targetKey = "licensor.db.replica"

func openReplicas(primary *pgx.ConnConfig, o ReplicaOptions, opts PoolOptions) (*Replicas, error) {
	if o.Every <= 0 {
		o.Every = 500 * time.Millisecond
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	r := &Replicas{primary: primary, maxLag: o.MaxLag, logger: o.Logger, stop: make(chan struct{})}
	for _, u := range o.URLs {
		cfg, err := pgx.ParseConfig(u)
		if err != nil {
			return nil, fmt.Errorf("parse replica url: %w", err)
		}
		cfg.DefaultQueryExecMode = pgx.QueryExecModeExec
		cfg.RuntimeParams["application_name"] = CheckAppName
		rep := &replica{name: net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port))), host: cfg.Host, port: cfg.Port, cfg: cfg}
		rep.lag.Store(-1)
		r.replicas = append(r.replicas, rep)
	}
	base := primary.Copy()
	base.DefaultQueryExecMode = pgx.QueryExecModeExec
	base.Tracer = nil
	base.RuntimeParams["application_name"] = ReadAppName
	connector := readConnector{r: r, inner: stdlib.GetConnector(*base,
		stdlib.OptionBeforeConnect(r.beforeConnect),
		stdlib.OptionAfterConnect(r.afterConnect),
		stdlib.OptionResetSession(r.resetSession))}
	r.SQL = sql.OpenDB(connector)
	if opts.MaxOpenConns > 0 {
		r.SQL.SetMaxOpenConns(opts.MaxOpenConns)
	}
	r.SQL.SetMaxIdleConns(opts.MaxIdleConns)
	r.SQL.SetConnMaxLifetime(opts.ConnMaxLifetime)
	r.Bun = bun.NewDB(r.SQL, pgdialect.New())
	// The first check before any read, so a healthy replica serves at once.
	for _, rep := range r.replicas {
		if conn := r.check(context.Background(), rep, nil); conn != nil {
			_ = conn.Close(context.Background())
		}
		if conn := r.sample(context.Background(), rep, nil); conn != nil {
			_ = conn.Close(context.Background())
		}
	}
	for _, rep := range r.replicas {
		r.done.Add(1)
		go r.watch(rep, o.Every)
	}
	return r, nil
}

// Close stops the watchers and closes the read pool.
func (r *Replicas) Close() error {
	close(r.stop)
	r.done.Wait()
	return r.Bun.Close()
}

// ReplicaStatus is one replica's state as last checked.
type ReplicaStatus struct {
	Name    string
	Healthy bool
	// Lag is the replay lag, negative when unknown (unreachable).
	Lag time.Duration
}

// Status reports each replica's state (metrics, the health check).
func (r *Replicas) Status() []ReplicaStatus {
	if r == nil {
		return nil
	}
	out := make([]ReplicaStatus, 0, len(r.replicas))
	for _, rep := range r.replicas {
		out = append(out, ReplicaStatus{Name: rep.name, Healthy: rep.healthy.Load(), Lag: time.Duration(rep.lag.Load())})
	}
	return out
}

// Replayed is a moment before which every commit on the primary has been
// replayed by each healthy replica (the zero time while none is healthy or
// known to have): a write this node finished before it is seen by a read
// of the read pool (docs/deploy.md#read-replicas, verify).
func (r *Replicas) Replayed() time.Time {
	if r == nil {
		return time.Time{}
	}
	var least int64
	for _, rep := range r.replicas {
		if !rep.healthy.Load() {
			continue
		}
		if n := rep.replayed.Load(); least == 0 || n < least {
			least = n
		}
	}
	if least <= 0 {
		return time.Time{}
	}
	return epoch.Add(time.Duration(least))
}

// watch checks rep every interval on a connection of its own, and asks
// the primary where its WAL ends on another, until Close.
func (r *Replicas) watch(rep *replica, every time.Duration) {
	defer r.done.Done()
	var conn, primary *pgx.Conn
	defer func() {
		for _, c := range []*pgx.Conn{conn, primary} {
			if c != nil {
				_ = c.Close(context.Background())
			}
		}
	}()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), every+time.Second)
		conn = r.check(ctx, rep, conn)
		primary = r.sample(ctx, rep, primary)
		cancel()
	}
}

// check asks rep's lag on conn (connecting when nil) and records it; it
// returns the connection to keep, nil after a failure.
func (r *Replicas) check(ctx context.Context, rep *replica, conn *pgx.Conn) *pgx.Conn {
	if ctx == context.Background() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
	}
	fail := func(err error) *pgx.Conn {
		if rep.healthy.Swap(false) {
			r.logger.Warn("read replica skipped", "replica", rep.name, "err", err)
		}
		rep.lag.Store(-1)
		if conn != nil {
			_ = conn.Close(context.Background())
		}
		return nil
	}
	if conn == nil {
		var err error
		if conn, err = pgx.ConnectConfig(ctx, rep.cfg); err != nil {
			return fail(err)
		}
	}
	var (
		recovering bool
		lag        float64
		replay     string
	)
	if err := conn.QueryRow(ctx, replicaLagSQL).Scan(&recovering, &lag, &replay); err != nil {
		return fail(err)
	}
	if lsn, ok := parseLSN(replay); ok && rep.sampledAt > 0 && lsn >= rep.sampleLSN {
		rep.replayed.Store(rep.sampledAt)
	}
	d := time.Duration(lag * float64(time.Second))
	rep.lag.Store(int64(d))
	ok := recovering && d <= r.maxLag
	if was := rep.healthy.Swap(ok); was != ok {
		if ok {
			r.logger.Info("read replica in use", "replica", rep.name, "lag", d)
		} else {
			r.logger.Warn("read replica skipped", "replica", rep.name, "lag", d, "in_recovery", recovering)
		}
	}
	return conn
}

// sample asks the primary where its WAL ends on conn (connecting when
// nil), for check's next comparison with rep's replay; it returns the
// connection to keep, nil after a failure.
func (r *Replicas) sample(ctx context.Context, rep *replica, conn *pgx.Conn) *pgx.Conn {
	if ctx == context.Background() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
	}
	if conn == nil {
		cfg := r.primary.Copy()
		cfg.Tracer = nil
		cfg.RuntimeParams["application_name"] = CheckAppName
		var err error
		if conn, err = pgx.ConnectConfig(ctx, cfg); err != nil {
			return nil
		}
	}
	at := int64(time.Since(epoch))
	var end string
	if err := conn.QueryRow(ctx, primaryLSNSQL).Scan(&end); err != nil {
		_ = conn.Close(context.Background())
		return nil
	}
	if lsn, ok := parseLSN(end); ok {
		rep.sampleLSN, rep.sampledAt = lsn, at
	}
	return conn
}

// parseLSN reads a pg_lsn's text form (hex "X/Y").
func parseLSN(s string) (int64, bool) {
	hi, lo, ok := strings.Cut(s, "/")
	if !ok {
		return 0, false
	}
	h, err1 := strconv.ParseUint(hi, 16, 32)
	l, err2 := strconv.ParseUint(lo, 16, 32)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return int64(h<<32 | l), true
}

// beforeConnect points a new read connection at the next healthy
// replica, or leaves it on the primary.
func (r *Replicas) beforeConnect(_ context.Context, cfg *pgx.ConnConfig) error {
	n := len(r.replicas)
	start := int(r.next.Add(1))
	for i := range n {
		rep := r.replicas[(start+i)%n]
		if rep.healthy.Load() {
			cfg.Host, cfg.Port = rep.host, rep.port
			cfg.User, cfg.Password, cfg.Database = rep.cfg.User, rep.cfg.Password, rep.cfg.Database
			cfg.TLSConfig, cfg.Fallbacks = rep.cfg.TLSConfig, nil
			return nil
		}
	}
	return nil
}

// afterConnect records which replica a connection reached.
func (r *Replicas) afterConnect(_ context.Context, conn *pgx.Conn) error {
	conn.PgConn().CustomData()[targetKey] = r.targetOf(conn.PgConn().Conn().RemoteAddr())
	return nil
}

func (r *Replicas) targetOf(addr net.Addr) int {
	if addr == nil {
		return -1
	}
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return -1
	}
	for i, rep := range r.replicas {
		if strconv.Itoa(int(rep.port)) != port {
			continue
		}
		if ip := net.ParseIP(rep.host); ip == nil || ip.Equal(net.ParseIP(host)) {
			return i
		}
	}
	return -1
}

// resetSession drops a pooled connection that no longer goes where new
// ones would: to a replica now skipped, or to the primary while a replica
// is healthy.
func (r *Replicas) resetSession(_ context.Context, conn *pgx.Conn) error {
	t, _ := conn.PgConn().CustomData()[targetKey].(int)
	if t >= 0 {
		if !r.replicas[t].healthy.Load() {
			return driver.ErrBadConn
		}
		return nil
	}
	for _, rep := range r.replicas {
		if rep.healthy.Load() {
			return driver.ErrBadConn
		}
	}
	return nil
}

// failed handles a read whose connection failed: its replica is skipped
// until the watcher finds it healthy again.
func (r *Replicas) failed(conn *pgx.Conn) {
	t, _ := conn.PgConn().CustomData()[targetKey].(int)
	if t >= 0 && r.replicas[t].healthy.Swap(false) {
		r.logger.Warn("read replica skipped: a read failed", "replica", r.replicas[t].name)
	}
}

// readConnector makes readConns.
type readConnector struct {
	r     *Replicas
	inner driver.Connector
}

// Connect opens a read connection. A replica that cannot be reached (it
// is shutting down) is skipped at once and the connection made again, to
// another replica or the primary: database/sql hands a failed connect to
// the caller without retrying it.
func (c readConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.inner.Connect(ctx)
	if err != nil && ctx.Err() == nil && c.r.connectFailed(err) {
		conn, err = c.inner.Connect(ctx)
	}
	if err != nil {
		return nil, err
	}
	return readConn{Conn: conn.(*stdlib.Conn), r: c.r}, nil
}

// connectFailed marks the replica a failed connect was made to as
// unhealthy, and reports whether it was a replica.
func (r *Replicas) connectFailed(err error) bool {
	var ce *pgconn.ConnectError
	if !errors.As(err, &ce) || ce.Config == nil {
		return false
	}
	for _, rep := range r.replicas {
		if rep.host == ce.Config.Host && rep.port == ce.Config.Port {
			if rep.healthy.Swap(false) {
				r.logger.Warn("read replica skipped: a connection failed", "replica", rep.name, "err", err)
			}
			return true
		}
	}
	return false
}

func (c readConnector) Driver() driver.Driver { return c.inner.Driver() }

// readConn is a read connection whose lost connection is a retry:
// database/sql runs the read again on another connection
// (driver.ErrBadConn), since reads are safe to repeat.
type readConn struct {
	*stdlib.Conn
	r *Replicas
}

func (c readConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	rows, err := c.Conn.QueryContext(ctx, query, args)
	if err != nil {
		return nil, c.retryable(ctx, err)
	}
	p, err := prefetch(rows)
	if err != nil {
		return nil, c.retryable(ctx, err)
	}
	return p, nil
}

// prefetchRows is how many rows a read takes from its connection before
// it returns. Once database/sql has handed rows to the caller it cannot
// run the read again, so a replica stopped while its rows were streaming
// would surface as the caller's error (a console list answering 503).
// Reads of up to this many rows — every page, count and lookup — are
// whole before they return; longer ones stream the rest.
const prefetchRows = 1000

// prefetched is rows whose first ones were read ahead.
type prefetched struct {
	driver.Rows
	buf  [][]driver.Value
	next int
	eof  bool
}

func prefetch(rows driver.Rows) (*prefetched, error) {
	p := &prefetched{Rows: rows}
	width := len(rows.Columns())
	for len(p.buf) < prefetchRows {
		dest := make([]driver.Value, width)
		err := rows.Next(dest)
		if errors.Is(err, io.EOF) {
			p.eof = true
			break
		}
		if err != nil {
			_ = rows.Close()
			return nil, err
		}
		for i, v := range dest {
			// A driver may reuse a []byte's memory for the next row.
			if b, ok := v.([]byte); ok {
				dest[i] = append([]byte(nil), b...)
			}
		}
		p.buf = append(p.buf, dest)
	}
	return p, nil
}

func (p *prefetched) Next(dest []driver.Value) error {
	if p.next < len(p.buf) {
		copy(dest, p.buf[p.next])
		p.buf[p.next] = nil
		p.next++
		return nil
	}
	if p.eof {
		return io.EOF
	}
	return p.Rows.Next(dest)
}

func (c readConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	res, err := c.Conn.ExecContext(ctx, query, args)
	return res, c.retryable(ctx, err)
}

func (c readConn) retryable(ctx context.Context, err error) error {
	if err == nil || ctx.Err() != nil || !connectionLost(err) {
		return err
	}
	c.r.failed(c.Conn.Conn())
	return driver.ErrBadConn
}

// connectionLost reports an error of the connection rather than of the
// statement: the server shut down or crashed, the network failed.
func connectionLost(err error) bool {
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// 57P01–57P03: admin shutdown, crash shutdown, cannot connect
		// now; 08: connection exceptions.
		c := pgErr.Code
		return c == "57P01" || c == "57P02" || c == "57P03" || (len(c) == 5 && c[:2] == "08")
	}
	var netErr net.Error
	return errors.As(err, &netErr) || pgconn.SafeToRetry(err)
}
