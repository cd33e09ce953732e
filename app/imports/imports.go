package imports

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/customers"
	"github.com/licensor/licensor/app/errkind"
	"github.com/licensor/licensor/app/jobqueue"
	"github.com/licensor/licensor/app/jobqueue/jobargs"
	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/settings"
)

// Import statuses.
const (
	StatusValidated = "validated"
	StatusQueued    = "queued"
	StatusRunning   = "running"
	StatusDone      = "done"
	StatusFailed    = "failed"
	StatusCancelled = "cancelled"
)

// Duplicate handling: a row matching a stored record is skipped or updates
// it.
const (
	Skip   = "skip"
	Update = "update"
)

// Defaults of Options.
const (
	DefaultBatchSize = 5000
	DefaultMaxBytes  = 32 << 20
	// sampleRows good rows are kept for the preview.
	sampleRows = 5
)

// Errors the console maps to messages.
var (
	ErrNotFound = errkind.New(errkind.NotFound, "import not found")
	// ErrHasBadRows refuses "all or nothing" on a file with bad rows.
	ErrHasBadRows = errors.New("the file has bad rows")
	// ErrNotPending: the import was already started or cancelled.
	ErrNotPending = errkind.New(errkind.Conflict, "the import was already started or cancelled")
	// ErrNoQueue: this node cannot enqueue jobs.
	ErrNoQueue = errors.New("imports: no job queue")
)

// Import is one uploaded file and what became of it.
type Import struct {
	bun.BaseModel `bun:"table:imports,alias:i"`

	ID          int64       `bun:"id,pk,autoincrement"`
	Kind        Kind        `bun:"kind"`
	Format      string      `bun:"format"`
	Filename    string      `bun:"filename"`
	Size        int         `bun:"size"`
	Content     []byte      `bun:"content"`
	Status      string      `bun:"status"`
	TotalRows   int         `bun:"total_rows"`
	GoodRows    int         `bun:"good_rows"`
	BadRows     int         `bun:"bad_rows"`
	Duplicates  int         `bun:"duplicates"`
	Problems    []Problem   `bun:"problems,type:jsonb"`
	Sample      []SampleRow `bun:"sample,type:jsonb"`
	Ignored     []string    `bun:"ignored,array"`
	OnDuplicate string      `bun:"on_duplicate"`
	NextLine    int         `bun:"next_line"`
	Processed   int         `bun:"processed"`
	Inserted    int         `bun:"inserted"`
	Updated     int         `bun:"updated"`
	Skipped     int         `bun:"skipped"`
	Batches     int         `bun:"batches"`
	Error       string      `bun:"error"`
	ActorType   string      `bun:"actor_type"`
	ActorID     *int64      `bun:"actor_id"`
	ActorName   string      `bun:"actor_name"`
	ActorIP     string      `bun:"actor_ip"`
	CreatedAt   time.Time   `bun:"created_at,nullzero,notnull,default:current_timestamp"`
	StartedAt   *time.Time  `bun:"started_at"`
	FinishedAt  *time.Time  `bun:"finished_at"`
	UpdatedAt   time.Time   `bun:"updated_at,nullzero,notnull,default:current_timestamp"`
}

// SampleRow is a good row shown on the preview.
type SampleRow struct {
	Line   int               `json:"line"`
	Fields map[string]string `json:"fields"`
}

// Finished reports whether the job is over (done or failed) or the import
// was cancelled.
func (i *Import) Finished() bool {
	return i.Status == StatusDone || i.Status == StatusFailed || i.Status == StatusCancelled
}

// Percent is the share of rows processed, 0–100.
func (i *Import) Percent() int {
	if i.Status == StatusDone {
		return 100
	}
	if i.TotalRows == 0 {
		return 0
	}
	return min(100, i.Processed*100/i.TotalRows)
}

func (i *Import) source() audit.Source {
	return audit.Source{Actor: audit.Actor{Type: i.ActorType, ID: i.ActorID, Name: i.ActorName}, IP: i.ActorIP}
}

// Options configure a Service.
type Options struct {
	DB bun.IDB
	// Reader serves the exports, which tolerate a little lag: the read
	// replicas (db.DB.Reader, docs/deploy.md#read-replicas); nil: DB.
	Reader   bun.IDB
	Settings *settings.Store
	// Queue enqueues the import job; nil: Start fails with ErrNoQueue.
	Queue *jobqueue.Queue
	// Formats are the readable formats; nil means NewRegistry().
	Formats *Registry
	// Customers and Licensing update the duplicates an import updates
	// (the node's services, with their hooks). Required.
	Customers *customers.Service
	Licensing *licensing.Service
	Now       func() time.Time
	// BatchSize is the rows written per transaction; default
	// DefaultBatchSize.
	BatchSize int
	// MaxBytes bounds an uploaded file; default DefaultMaxBytes.
	MaxBytes int
}

// Service uploads, validates, runs and exports.
type Service struct {
	o Options
}

// New returns a Service.
func New(o Options) *Service {
	if o.Formats == nil {
		o.Formats = NewRegistry()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.BatchSize <= 0 {
		o.BatchSize = DefaultBatchSize
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	return &Service{o: o}
}

// Formats returns the service's format registry.
func (s *Service) Formats() *Registry { return s.o.Formats }

// MaxBytes is the largest file Upload accepts.
func (s *Service) MaxBytes() int { return s.o.MaxBytes }

func (s *Service) rules(set *settings.Values, kind Kind, by audit.Source) rules {
	if kind == Licenses {
		return &licenseRules{set: set, svc: s.o.Licensing, by: by, products: map[string]*catalog.Product{}}
	}
	return &customerRules{set: set, svc: s.o.Customers, by: by, now: s.o.Now()}
}

// Upload checks a file (size, format by its name, content), reads and
// validates every row, and stores it with what the validation found, ready
// for the preview. A file that cannot be used at all is a *FileError.
func (s *Service) Upload(ctx context.Context, by audit.Source, kind Kind, filename string, content []byte) (*Import, error) {
	if !kind.Valid() {
		return nil, &FileError{"Choose customers or licenses."}
	}
	if len(content) == 0 {
		return nil, &FileError{"The file is empty."}
	}
	if len(content) > s.o.MaxBytes {
		return nil, &FileError{fmt.Sprintf("The file is larger than %d MB.", s.o.MaxBytes>>20)}
	}
	f, ok := s.o.Formats.ForFile(filename)
	if !ok {
		var exts []string
		for _, g := range s.o.Formats.All() {
			exts = append(exts, g.Extensions...)
		}
		return nil, &FileError{fmt.Sprintf("Files of this type cannot be imported: upload a %s file.", strings.Join(exts, ", "))}
	}
	if f.Check != nil {
		if err := f.Check(content); err != nil {
			return nil, err
		}
	}
	src, err := f.Open(content)
	if err != nil {
		return nil, err
	}
	set, err := s.o.Settings.Get(ctx)
	if err != nil {
		return nil, err
	}
	im := &Import{
		Kind: kind, Format: f.Name, Filename: filename, Size: len(content), Content: content,
		Status: StatusValidated, OnDuplicate: Skip, Problems: []Problem{}, Sample: []SampleRow{},
		ActorType: by.Actor.Type, ActorID: by.Actor.ID, ActorName: by.Actor.Name, ActorIP: by.IP,
	}
	r := s.rules(set, kind, by)
	seen := map[string]int{}
	err = s.batches(src, 0, func(rows []*row) error {
		if err := r.check(ctx, s.o.DB, rows, seen); err != nil {
			return err
		}
		for _, x := range rows {
			im.TotalRows++
			switch {
			case x.bad():
				im.BadRows++
				im.Problems = append(im.Problems, x.problems...)
			default:
				im.GoodRows++
				if x.existing != 0 {
					im.Duplicates++
				}
				if len(im.Sample) < sampleRows {
					im.Sample = append(im.Sample, SampleRow{Line: x.Line, Fields: x.Fields})
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if im.TotalRows == 0 {
		return nil, &FileError{"The file has no rows to import."}
	}
	im.Ignored = ignoredColumns(kind, src.Columns())
	if _, err := s.o.DB.NewInsert().Model(im).Returning("id, created_at, updated_at").Exec(ctx); err != nil {
		return nil, fmt.Errorf("store import: %w", err)
	}
	im.Content = nil
	return im, nil
}

func ignoredColumns(kind Kind, cols []string) []string {
	known := map[string]bool{}
	for _, f := range kind.Fields() {
		known[f] = true
	}
	out := []string{}
	for _, c := range cols {
		if c != "" && !known[c] {
			out = append(out, storableText(c))
		}
	}
	return out
}

// batches reads src in groups of BatchSize rows, leaving out the rows up
// to line after (already committed by an earlier run).
func (s *Service) batches(src Source, after int, fn func([]*row) error) error {
	batch := make([]*row, 0, s.o.BatchSize)
	for {
		rec, err := src.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return &FileError{fmt.Sprintf("The file cannot be read: %v.", err)}
		}
		if rec.Line <= after {
			continue
		}
		batch = append(batch, &row{Record: screen(rec)})
		if len(batch) == s.o.BatchSize {
			if err := fn(batch); err != nil {
				return err
			}
			batch = make([]*row, 0, s.o.BatchSize)
		}
	}
	if len(batch) > 0 {
		return fn(batch)
	}
	return nil
}

// Get returns import id without its file.
func (s *Service) Get(ctx context.Context, id int64) (*Import, error) {
	im := new(Import)
	if err := s.o.DB.NewSelect().Model(im).ExcludeColumn("content").Where("i.id = ?", id).Scan(ctx); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, ErrNotFound
		}
		return nil, fmt.Errorf("get import %d: %w", id, err)
	}
	return im, nil
}

// Recent returns the latest n imports without their files.
func (s *Service) Recent(ctx context.Context, n int) ([]Import, error) {
	var out []Import
	err := s.o.DB.NewSelect().Model(&out).
		ExcludeColumn("content", "problems", "sample").
		OrderExpr("i.created_at DESC, i.id DESC").Limit(int64(n)).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("recent imports: %w", err)
	}
	return out, nil
}

// Start queues the import job for import id: the good rows are imported,
// duplicates handled by onDuplicate (Skip or Update). allOrNothing refuses
// (ErrHasBadRows) when the file has any bad row.
func (s *Service) Start(ctx context.Context, by audit.Source, id int64, onDuplicate string, allOrNothing bool) error {
	if s.o.Queue == nil {
		return ErrNoQueue
	}
	if onDuplicate != Update {
		onDuplicate = Skip
	}
	return s.o.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		im, err := s.lock(ctx, tx, id)
		if err != nil {
			return err
		}
		if im.Status != StatusValidated {
			return ErrNotPending
		}
		if allOrNothing && im.BadRows > 0 {
			return ErrHasBadRows
		}
		if _, err := tx.NewUpdate().Model(im).
			Set("status = ?, on_duplicate = ?, updated_at = now()", StatusQueued, onDuplicate).WherePK().Exec(ctx); err != nil {
			return fmt.Errorf("queue import %d: %w", id, err)
		}
		if _, err := s.o.Queue.Add(ctx, tx, jobargs.Import{ImportID: id}, nil); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{
			Type: "import.started", Actor: by.Actor, IP: by.IP,
			Message: fmt.Sprintf("Import of %s from %s started %s: %d good rows, %d bad rows left out, duplicates: %s.",
				im.Kind, im.Filename, by.Actor.Via(), im.GoodRows, im.BadRows, onDuplicate),
			Data: map[string]any{"import_id": id},
		})
	})
}

// Cancel is "import nothing": the import is closed without a row written.
func (s *Service) Cancel(ctx context.Context, by audit.Source, id int64) error {
	return s.o.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		im, err := s.lock(ctx, tx, id)
		if err != nil {
			return err
		}
		if im.Status != StatusValidated {
			return ErrNotPending
		}
		if _, err := tx.NewUpdate().Model(im).
			Set("status = ?, finished_at = now(), updated_at = now()", StatusCancelled).WherePK().Exec(ctx); err != nil {
			return fmt.Errorf("cancel import %d: %w", id, err)
		}
		return audit.Record(ctx, tx, audit.Entry{
			Type: "import.cancelled", Actor: by.Actor, IP: by.IP,
			Message: fmt.Sprintf("Import of %s from %s cancelled %s: nothing imported.", im.Kind, im.Filename, by.Actor.Via()),
			Data:    map[string]any{"import_id": id},
		})
	})
}

func (s *Service) lock(ctx context.Context, tx bun.IDB, id int64) (*Import, error) {
	im := new(Import)
	err := tx.NewSelect().Model(im).ExcludeColumn("content").Where("i.id = ?", id).For("UPDATE").Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("lock import %d: %w", id, err)
	}
	return im, nil
}

// Run is the import job: it reads the stored file again, checks each batch
// of rows inside its own transaction, writes the good ones and records the
// progress in that same transaction, so a batch is all in or all out and a
// retried job resumes after the last committed one. A failing batch ends
// the import as failed (returned nil: retrying would fail the same way);
// an error returned means the job should be retried (a cancelled context,
// the database gone).
func (s *Service) Run(ctx context.Context, id int64) error {
	im := new(Import)
	if err := s.o.DB.NewSelect().Model(im).Where("i.id = ?", id).Scan(ctx); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		return fmt.Errorf("read import %d: %w", id, err)
	}
	if im.Status != StatusQueued && im.Status != StatusRunning {
		return nil
	}
	if _, err := s.o.DB.NewUpdate().Model(im).
		Set("status = ?, started_at = coalesce(started_at, now()), updated_at = now()", StatusRunning).WherePK().Exec(ctx); err != nil {
		return fmt.Errorf("start import %d: %w", id, err)
	}
	f, ok := s.o.Formats.Get(im.Format)
	if !ok {
		return s.fail(ctx, im, fmt.Sprintf("The format %s is not available on this node.", im.Format))
	}
	src, err := f.Open(im.Content)
	if err != nil {
		return s.fail(ctx, im, err.Error())
	}
	set, err := s.o.Settings.Get(ctx)
	if err != nil {
		return err
	}
	by := im.source()
	r := s.rules(set, im.Kind, by)
	seen := map[string]int{}
	update := im.OnDuplicate == Update
	batch := im.Batches
	var failed string
	err = s.batches(src, im.NextLine, func(rows []*row) error {
		batch++
		first, last := rows[0].Line, rows[len(rows)-1].Line
		err := s.o.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			if err := r.check(ctx, tx, rows, seen); err != nil {
				return err
			}
			ins, upd, skip, err := r.apply(ctx, tx, rows, update)
			if err != nil {
				return err
			}
			_, err = tx.NewUpdate().Model(im).
				Set("next_line = ?, processed = processed + ?, inserted = inserted + ?, updated = updated + ?, skipped = skipped + ?, batches = ?, updated_at = now()",
					last, len(rows), ins, upd, skip, batch).
				WherePK().Exec(ctx)
			return err
		})
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			failed = fmt.Sprintf("Batch %d (lines %d–%d) failed and was rolled back: %v", batch, first, last, err)
			return errStop
		}
		return nil
	})
	switch {
	case errors.Is(err, errStop):
		return s.fail(ctx, im, failed)
	case err != nil:
		var fe *FileError
		if errors.As(err, &fe) {
			return s.fail(ctx, im, fe.Message)
		}
		return err
	}
	// Up to a million new rows leave the planner's statistics behind until
	// autovacuum comes by (never, where it is off): refresh them now, as
	// the hot paths' plans are checked to need (docs/benchmarks.md). Best
	// effort: the rows are in either way.
	table := "customers"
	if im.Kind == Licenses {
		table = "licenses"
	}
	if _, err := s.o.DB.ExecContext(ctx, "ANALYZE "+table); err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return s.o.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := tx.NewSelect().Model(im).ExcludeColumn("content").WherePK().Scan(ctx); err != nil {
			return err
		}
		if _, err := tx.NewUpdate().Model(im).
			Set("status = ?, finished_at = now(), updated_at = now(), content = ''::bytea", StatusDone).WherePK().Exec(ctx); err != nil {
			return fmt.Errorf("finish import %d: %w", id, err)
		}
		return audit.Record(ctx, tx, audit.Entry{
			Type: "import.finished", Actor: by.Actor, IP: by.IP,
			Message: fmt.Sprintf("Import of %s from %s finished: %d inserted, %d updated, %d skipped.",
				im.Kind, im.Filename, im.Inserted, im.Updated, im.Skipped),
			Data: map[string]any{"import_id": id, "inserted": im.Inserted, "updated": im.Updated, "skipped": im.Skipped},
		})
	})
}

var errStop = errors.New("stop")

// fail ends the import with message and logs it.
func (s *Service) fail(ctx context.Context, im *Import, message string) error {
	by := im.source()
	return s.o.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewUpdate().Model(im).
			Set("status = ?, error = ?, finished_at = now(), updated_at = now()", StatusFailed, message).WherePK().Exec(ctx); err != nil {
			return fmt.Errorf("fail import %d: %w", im.ID, err)
		}
		return audit.Record(ctx, tx, audit.Entry{
			Type: "import.failed", Actor: by.Actor, IP: by.IP,
			Message: fmt.Sprintf("Import of %s from %s failed: %s", im.Kind, im.Filename, message),
			Data:    map[string]any{"import_id": im.ID},
		})
	})
}
