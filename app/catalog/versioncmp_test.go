package catalog

import (
	"bufio"
	"encoding/hex"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestCompareVersions(t *testing.T) {
	cases := []struct {
		a, b string
		want int
	}{
		{"1.0", "1.0", 0},
		{"1.0", "1.1", -1},
		{"1.2", "1.0.1", 1},
		{"10", "2", 1},
		{"1.0.0", "1.0", 1},
		{"1.0", "1.0.0", -1},
		{"1.10", "1.9", 1},
		{"01.2", "1.2", 0},
		{"1.02", "1.2", 0},
		{"123456789012345678901234567890", "123456789012345678901234567891", -1},
		// special forms: dev < alpha = a < beta = b < RC = rc < number < pl = p
		{"1.0-dev", "1.0-alpha", -1},
		{"1.0-alpha", "1.0a", 0},
		{"1.0-alpha", "1.0-beta", -1},
		{"1.0-beta", "1.0b", 0},
		{"1.0-beta", "1.0-RC", -1},
		{"1.0RC1", "1.0rc1", 0},
		{"1.0rc1", "1.0", -1},
		{"1.0-rc.2", "1.0-rc.10", -1},
		{"1.0.1", "1.0.rc", 1},
		{"1.0.1", "1.0.pl", -1},
		{"1.0pl1", "1.0", 1},
		{"1.0p1", "1.0pl1", 0},
		{"1.0-beta", "1.0", -1},
		{"2.0.0-beta.2", "2.0.0-beta.1", 1},
		{"2.0.0-beta.2", "2.0.0", -1},
		{"1.0-foo", "1.0-dev", -1}, // unknown words rank below dev
		{"1.0-foo", "1.0-xyz", 0},
		{"1.0-bar", "1.0-beta", 0},   // prefixes: "bar" is a "b"
		{"1.0-Alpha", "1.0-dev", -1}, // case-sensitive: "Alpha" is unknown
		{"1.0_1", "1.0+1", 0},
		{"1.0.0", "1..0..0", 0},
		// leading v
		{"v1.2.0", "1.2.0", 0},
		{"V1.2.0", "v1.2.0", 0},
		{"v1.2.0", "1.3", -1},
		{"version", "1", -1}, // not followed by a digit: a word
		// empty strings
		{"", "", 0},
		{"", "0", -1},
		{"0", "", 1},
		// where PHP depends on argument order, the order-independent answer
		{"1.", "1.", 0},
		{"1-", "1.", 0},
		{"1.", "1", -1},
		{"1", "1.", 1},
	}
	for _, c := range cases {
		if got := CompareVersions(c.a, c.b); got != c.want {
			t.Errorf("CompareVersions(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
		if got := CompareVersions(c.b, c.a); got != -c.want {
			t.Errorf("CompareVersions(%q, %q) = %d, want %d", c.b, c.a, got, -c.want)
		}
	}
}

func TestCanonicalVersion(t *testing.T) {
	cases := map[string]string{
		"1.0rc1":       "1.0.rc.1",
		"2.0.0-beta.2": "2.0.0.beta.2",
		"1...2":        "1.2",
		"1.2-3+4.a5":   "1.2.3.4.a.5",
		"5#":           "5.#",
		"a#":           "a.",
		"-1":           "-.1",
		"1é":           "1.\xc3.",
	}
	for in, want := range cases {
		if got := canonicalVersion(in); got != want {
			t.Errorf("canonicalVersion(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestCompareVersionsMatchesPHP replays pairs that PHP 8.2's
// version_compare answered (testdata/php_version_compare.php made them).
// Pairs where PHP contradicts itself (a<b and b<a) are checked only for
// order-independence.
func TestCompareVersionsMatchesPHP(t *testing.T) {
	f, err := os.Open("testdata/php_version_compare.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	n, skipped := 0, 0
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		cols := strings.Split(line, " ")
		if len(cols) != 4 {
			t.Fatalf("bad line %q", line)
		}
		a, errA := hex.DecodeString(cols[0])
		b, errB := hex.DecodeString(cols[1])
		ab, errAB := strconv.Atoi(cols[2])
		ba, errBA := strconv.Atoi(cols[3])
		if errA != nil || errB != nil || errAB != nil || errBA != nil {
			t.Fatalf("bad line %q", line)
		}
		got := phpVersionCompare(string(a), string(b))
		if ab != -ba {
			skipped++
			if rev := phpVersionCompare(string(b), string(a)); rev != -got {
				t.Errorf("order-dependent result for %q, %q: %d and %d", a, b, got, rev)
			}
			continue
		}
		n++
		if got != ab {
			t.Errorf("phpVersionCompare(%q, %q) = %d, PHP says %d", a, b, got, ab)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if n < 1000 {
		t.Fatalf("only %d vectors checked", n)
	}
	t.Logf("%d pairs agree with PHP, %d order-dependent in PHP", n, skipped)
}

func TestSortByCompareVersions(t *testing.T) {
	got := []string{"1.0", "1.0-rc1", "v2.0", "1.0-dev", "1.0.1", "1.0-beta", "1.0pl1", "1.0-alpha", "1.9", "1.10"}
	slices.SortFunc(got, CompareVersions)
	want := []string{"1.0-dev", "1.0-alpha", "1.0-beta", "1.0-rc1", "1.0", "1.0.1", "1.0pl1", "1.9", "1.10", "v2.0"}
	if !slices.Equal(got, want) {
		t.Fatalf("sorted: %q\nwant:   %q", got, want)
	}
}

func TestValidVersion(t *testing.T) {
	cases := map[string]bool{
		"1.2": true, "1.2.3": true, "v1.2.3": true, "10.20.30-beta": true, "1.0.0-rc_1-2": true,
		"1": false, "1.2.3.4": false, "V1.2": false, "1.2-": false, "1.2.3-beta.1": false,
		"1.2\n": false, " 1.2": false, "1.2-é": false, "": false, "1.٢": false,
	}
	for s, want := range cases {
		if got := ValidVersion(s); got != want {
			t.Errorf("ValidVersion(%q) = %v, want %v", s, got, want)
		}
	}
}

func FuzzCompareVersions(f *testing.F) {
	for _, s := range [][2]string{
		{"1.0", "1.0.0"}, {"1.0rc1", "1.0"}, {"v1.2", "1.2"}, {"1.", "1."}, {"#1", "#"},
		{"1.0-beta", "1.0pl1"}, {"", "0"}, {".5", "5"}, {"1\x002", "1"}, {"1é", "1#"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		ab, ba := CompareVersions(a, b), CompareVersions(b, a)
		if ab < -1 || ab > 1 {
			t.Fatalf("CompareVersions(%q, %q) = %d", a, b, ab)
		}
		if ab != -ba {
			t.Fatalf("not antisymmetric: (%q, %q) = %d, reversed %d", a, b, ab, ba)
		}
		if c := CompareVersions(a, a); c != 0 {
			t.Fatalf("CompareVersions(%q, itself) = %d", a, c)
		}
		// PHP's order is not transitive ("00" = "#" = "1" but "00" < "1":
		// numbers rank as "#" against words), so only these two hold.
		if a != "" && isDigit(a[0]) {
			if c := CompareVersions("v"+a, a); c != 0 {
				t.Fatalf("CompareVersions(v%q, %q) = %d", a, a, c)
			}
		}
	})
}
