package web

import (
	"slices"
	"testing"
	"time"
)

func TestPageNumbers(t *testing.T) {
	for _, tc := range []struct {
		cur, pages int
		want       []int
	}{
		{1, 1, []int{1}},
		{1, 5, []int{1, 2, 3, 4, 5}},
		{1, 17, []int{1, 2, 3, 0, 17}},
		{6, 17, []int{1, 0, 4, 5, 6, 7, 8, 0, 17}},
		{4, 17, []int{1, 2, 3, 4, 5, 6, 0, 17}}, // a gap of one page shows the page
		{17, 17, []int{1, 0, 15, 16, 17}},
	} {
		if got := pageNumbers(tc.cur, tc.pages); !slices.Equal(got, tc.want) {
			t.Errorf("page %d of %d: %v, want %v", tc.cur, tc.pages, got, tc.want)
		}
	}
}

func TestViewFuncs(t *testing.T) {
	for in, want := range map[string]string{
		"Ada King Lovelace": "AL", "grace": "G", "  ": "?", "élodie d'arc": "ÉA", "42 Systems": "4S",
	} {
		if got := Initials(in); got != want {
			t.Errorf("Initials(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"CDE25DA0-1B2C-4D5E-8F90-A1B2C3D4C4F1": "CDE25DA0…4C4F1", "SHORT-CODE-1": "SHORT-CODE-1", "1234567890123456": "1234567890123456",
	} {
		if got := ShortID(in); got != want {
			t.Errorf("ShortID(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[int64]string{
		0: "0 B", 512: "512 B", 1024: "1 KiB", 1536: "1.5 KiB", 1 << 20: "1 MiB", 2 << 30: "2 GiB", 1073741824 * 1536: "1.5 TiB",
	} {
		if got := HumanBytes(in); got != want {
			t.Errorf("HumanBytes(%d) = %q, want %q", in, got, want)
		}
	}
	at := time.Date(2020, 3, 4, 5, 6, 7, 0, time.UTC)
	var none *time.Time
	if ISODate(at) != "2020-03-04" || ISODate(&at) != "2020-03-04" || ISODate(none) != "" || ISODateTime(at) != "2020-03-04 05:06" ||
		Timestamp(at.In(time.FixedZone("x", 3600))) != "2020-03-04 05:06:07" || ISODate(time.Time{}) != "" {
		t.Error("dates are not ISO")
	}
	if _, err := Dict("odd"); err == nil {
		t.Error("Dict with an odd number of arguments")
	}
	if m, err := Dict("A", 1, "B", "x"); err != nil || m["A"] != 1 || m["B"] != "x" {
		t.Errorf("Dict: %v %v", m, err)
	}
	if Plural(1, "license", "licenses") != "1 license" || Plural(3, "license", "licenses") != "3 licenses" {
		t.Error("Plural")
	}
}
