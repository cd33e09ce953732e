package jobs

import (
	"testing"
	"time"
)

func TestDailySchedule(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	at := func(s string, loc *time.Location) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, c := range []struct {
		now, clock string
		loc        *time.Location
		next, last string
	}{
		{"2025-06-01 00:30", "01:00", time.UTC, "2025-06-01 01:00", "2025-05-31 01:00"},
		{"2025-06-01 01:00", "01:00", time.UTC, "2025-06-02 01:00", "2025-06-01 01:00"},
		{"2025-06-01 23:59", "01:00", time.UTC, "2025-06-02 01:00", "2025-06-01 01:00"},
		{"2025-12-31 23:00", "22:15", time.UTC, "2026-01-01 22:15", "2025-12-31 22:15"},
		// In the timezone setting, across a DST change (Berlin springs
		// forward on 2025-03-30).
		{"2025-03-29 12:00", "03:30", berlin, "2025-03-30 03:30", "2025-03-29 03:30"},
		{"2025-03-30 12:00", "03:30", berlin, "2025-03-31 03:30", "2025-03-30 03:30"},
	} {
		now := at(c.now, c.loc)
		if got := nextDailyAt(now, c.clock, c.loc); !got.Equal(at(c.next, c.loc)) {
			t.Errorf("next after %s at %s: %s, want %s", c.now, c.clock, got, c.next)
		}
		if got := lastDailyAt(now, c.clock, c.loc); !got.Equal(at(c.last, c.loc)) {
			t.Errorf("last before %s at %s: %s, want %s", c.now, c.clock, got, c.last)
		}
	}
}
