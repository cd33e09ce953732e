package jobs

import (
	"context"
	"time"

	"github.com/riverqueue/river"

	"github.com/licensor/licensor/app/expiry"
	"github.com/licensor/licensor/app/jobqueue/jobargs"
	"github.com/licensor/licensor/app/settings"
)

// expiryScanWorker runs the daily expiry scan. The scan is idempotent and
// resumable (its batches commit as they go), so a retry, a rescued job or
// a second run the same day only finishes what is left.
type expiryScanWorker struct {
	river.WorkerDefaults[jobargs.ExpiryScan]
	scanner *expiry.Scanner
	deps    Deps
}

func (w *expiryScanWorker) Timeout(*river.Job[jobargs.ExpiryScan]) time.Duration {
	return 10 * time.Minute
}

func (w *expiryScanWorker) Work(ctx context.Context, job *river.Job[jobargs.ExpiryScan]) error {
	res, err := w.scanner.Run(ctx)
	if err != nil {
		return err
	}
	w.deps.Logger.Info("expiry scan", "day", job.Args.Day, "warnings_sent", res.WarningsSent,
		"expired_logged", res.ExpiredLogged, "updates_expired", res.UpdatesExpired, "expiring_events", res.ExpiringEvents)
	return nil
}

// expirySchedule runs the scan daily at the expiry_scan_time setting in the
// timezone setting. River asks it for the next run after each run; it also
// wakes every tick, so a changed setting takes effect within a tick
// instead of after the next scan. The job of each wake-up names the day of
// the latest scheduled time, and is unique by that day: a wake-up between
// two scheduled times inserts nothing new, while a day whose scan was
// missed (every node down at the time) is caught up at the next wake-up.
type expirySchedule struct {
	settings *settings.Store
	tick     time.Duration
	// now is the scans' clock (Deps.Now): it names the day a wake-up's
	// job is for.
	now func() time.Time
}

func (s expirySchedule) values() (*settings.Values, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return s.settings.Get(ctx)
}

// Next is the next scheduled time after current, or current+tick if that
// comes first.
func (s expirySchedule) Next(current time.Time) time.Time {
	next := current.Add(s.tick)
	set, err := s.values()
	if err != nil {
		return next
	}
	if at := nextDailyAt(current, set.ExpiryScanTime, set.Location()); at.Before(next) {
		return at
	}
	return next
}

// job is the periodic job's constructor.
func (s expirySchedule) job() (river.JobArgs, *river.InsertOpts) {
	set, err := s.values()
	if err != nil {
		return nil, nil // try again at the next wake-up
	}
	return jobargs.ExpiryScan{Day: lastDailyAt(s.now(), set.ExpiryScanTime, set.Location()).Format("2006-01-02")}, nil
}

// nextDailyAt is the first time strictly after t at clock ("HH:MM") in
// loc.
func nextDailyAt(t time.Time, clock string, loc *time.Location) time.Time {
	at := dailyAt(t, clock, loc)
	if !at.After(t) {
		lt := t.In(loc)
		at = dailyAt(time.Date(lt.Year(), lt.Month(), lt.Day()+1, 12, 0, 0, 0, loc), clock, loc)
	}
	return at
}

// lastDailyAt is the latest time at or before t at clock in loc.
func lastDailyAt(t time.Time, clock string, loc *time.Location) time.Time {
	at := dailyAt(t, clock, loc)
	if at.After(t) {
		lt := t.In(loc)
		at = dailyAt(time.Date(lt.Year(), lt.Month(), lt.Day()-1, 12, 0, 0, 0, loc), clock, loc)
	}
	return at
}

// dailyAt is clock on t's day in loc. A clock that does not parse (the
// setting validates it) reads as 01:00, the default.
func dailyAt(t time.Time, clock string, loc *time.Location) time.Time {
	c, err := time.Parse("15:04", clock)
	if err != nil {
		c = time.Date(0, 1, 1, 1, 0, 0, 0, time.UTC)
	}
	lt := t.In(loc)
	return time.Date(lt.Year(), lt.Month(), lt.Day(), c.Hour(), c.Minute(), 0, 0, loc)
}
