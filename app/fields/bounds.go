package fields

import (
	"fmt"
	"time"
)

// Bounds of every count, day count and date a field may hold
// (docs/deploy.md#day-counts-and-dates): counts are PostgreSQL integers,
// day counts at most a hundred years, dates between 1970 and 9999 so that
// the legacy Y-m-d form and every client's four-digit year still read
// them.
const (
	MaxCount = 2147483647 // PostgreSQL integer
	MaxDays  = 36500
	MinYear  = 1970
	MaxYear  = 9999
)

// DateRange is the message for a date outside MinYear–MaxYear.
func DateRange(f string) string {
	return fmt.Sprintf("The %s field must be a date between %d-01-01 and %d-12-31.", Label(f), MinYear, MaxYear)
}

// CheckCount adds a failure when a non-nil count is below min or above
// MaxCount.
func (e *Error) CheckCount(field string, value *int, min int) {
	switch {
	case value == nil:
	case *value < min:
		e.Add(field, Min(field, min))
	case *value > MaxCount:
		e.Add(field, Max(field, MaxCount))
	}
}

// CheckDays adds a failure when a non-nil day count is below 0 or above
// MaxDays.
func (e *Error) CheckDays(field string, value *int) {
	switch {
	case value == nil:
	case *value < 0:
		e.Add(field, Min(field, 0))
	case *value > MaxDays:
		e.Add(field, Max(field, MaxDays))
	}
}

// DateInRange reports whether t, in UTC, falls in MinYear–MaxYear: an
// offset that moves 9999-12-31 past midnight UTC is year 10000 stored.
func DateInRange(t time.Time) bool {
	y := t.UTC().Year()
	return y >= MinYear && y <= MaxYear
}

// CheckDate adds a failure when a non-nil date is outside MinYear–MaxYear.
func (e *Error) CheckDate(field string, t *time.Time) {
	if t != nil && !DateInRange(*t) {
		e.Add(field, DateRange(field))
	}
}

// AddDays is t plus n calendar days (the same wall-clock time on the
// n-th day, whatever daylight saving does in between), n bounded by
// MaxDays so that a count stored before the bound existed cannot move a
// date past what PostgreSQL and the legacy date form hold.
func AddDays(t time.Time, n int) time.Time {
	n = max(0, min(n, MaxDays))
	return t.AddDate(0, 0, n)
}
