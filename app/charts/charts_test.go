package charts

import (
	"encoding/xml"
	"io"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestScale(t *testing.T) {
	for _, c := range []struct {
		max       float64
		top, step float64
	}{
		{0, 1, 1},
		{-5, 1, 1},
		{1, 1, 1},
		{3, 3, 1},
		{4, 4, 1},
		{7, 8, 2},
		{10, 10, 5},
		{37, 40, 10},
		{100, 100, 50},
		{101, 150, 50},
		{1234, 1500, 500},
		{0.3, 1, 1},
	} {
		top, step := Scale(c.max, 4)
		if top != c.top || step != c.step {
			t.Errorf("Scale(%v) = %v, %v; want %v, %v", c.max, top, step, c.top, c.step)
		}
		if top < c.max {
			t.Errorf("Scale(%v): top %v below the maximum", c.max, top)
		}
	}
}

func TestTicks(t *testing.T) {
	if got := Ticks(40, 10); !slices.Equal(got, []float64{0, 10, 20, 30, 40}) {
		t.Errorf("Ticks(40, 10) = %v", got)
	}
	if got := Ticks(1, 1); !slices.Equal(got, []float64{0, 1}) {
		t.Errorf("Ticks(1, 1) = %v", got)
	}
	if got := Ticks(5, 0); !slices.Equal(got, []float64{0}) {
		t.Errorf("Ticks with no step = %v", got)
	}
}

func TestFormatAndPercent(t *testing.T) {
	for v, want := range map[float64]string{0: "0", 7: "7", 999: "999", 1000: "1,000", 1234567: "1,234,567", -4200: "-4,200", 2.5: "2.5", 1.005: "1", 3.14159: "3.14"} {
		if got := Format(v); got != want {
			t.Errorf("Format(%v) = %q, want %q", v, got, want)
		}
	}
	if Percent(1, 3) != "33%" || Percent(2, 3) != "67%" || Percent(5, 0) != "0%" {
		t.Errorf("Percent: %s %s %s", Percent(1, 3), Percent(2, 3), Percent(5, 0))
	}
}

func TestLabelPositions(t *testing.T) {
	for _, c := range []struct {
		n, limit int
		want     []int
	}{
		{0, 8, nil},
		{1, 8, []int{0}},
		{7, 8, []int{0, 1, 2, 3, 4, 5, 6}},
		{30, 8, []int{0, 4, 8, 12, 16, 20, 24, 28}},
		{90, 8, []int{0, 12, 24, 36, 48, 60, 72, 84}},
		{10, 3, []int{0, 4, 8}},
	} {
		got := LabelPositions(c.n, c.limit)
		if !slices.Equal(got, c.want) {
			t.Errorf("LabelPositions(%d, %d) = %v, want %v", c.n, c.limit, got, c.want)
		}
		if len(got) > c.limit {
			t.Errorf("LabelPositions(%d, %d): %d labels", c.n, c.limit, len(got))
		}
	}
}

// wellFormed parses s as XML, so a chart is valid SVG inside valid markup.
func wellFormed(t *testing.T, s string) {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(s))
	for {
		_, err := d.Token()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatalf("not well-formed: %v\n%s", err, s)
		}
	}
}

func TestLineChart(t *testing.T) {
	out := string(Line(XY{
		Name: "activations", Title: "Activations per day",
		Labels: []string{"Mar 1", "Mar 2", "Mar 3"},
		Series: []Series{{Name: "Succeeded", Values: []float64{1, 4, 2}}, {Name: "Failed", Values: []float64{0, 1}}},
	}))
	wellFormed(t, out)
	for _, want := range []string{
		`<figure class="chart" data-chart="activations">`, `role="img"`, `aria-label="Activations per day"`,
		`<title>Activations per day</title>`, `<polyline class="line"`, `class="series series-1"`, `class="series series-2"`,
		`<title>Mar 2 · Succeeded: 4</title>`, `<title>Mar 3 · Failed: 0</title>`, // a missing value counts as 0
		`<table class="visually-hidden"><caption>Activations per day</caption>`,
		`<tr><th scope="row">Mar 2</th><td>4</td><td>1</td></tr>`,
		`<span class="swatch series-2" aria-hidden="true"></span>Failed`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("line chart lacks %s\n%s", want, out)
		}
	}
	// The y axis runs 0–4 in steps of 1: five tick labels.
	if got := regexp.MustCompile(`text-anchor="end" dominant-baseline="middle">(\d+)<`).FindAllStringSubmatch(out, -1); len(got) != 5 || got[4][1] != "4" {
		t.Errorf("y ticks: %v", got)
	}
	// The highest point is at the top of the plot, zero on the x axis.
	if !strings.Contains(out, `cy="18" r="3"><title>Mar 2 · Succeeded: 4`) || !strings.Contains(out, `cy="200" r="3"><title>Mar 1 · Failed: 0`) {
		t.Errorf("points not scaled to the axis:\n%s", out)
	}
	if !strings.Contains(out, `text-anchor="end">Mar 3</text>`) || !strings.Contains(out, `text-anchor="middle">Mar 1</text>`) {
		t.Error("the last x label of a line ends at the plot's edge")
	}
	if strings.Contains(out, "style=") || strings.Contains(out, "fill=\"#") {
		t.Error("charts must not carry inline styles or colours (CSP, theme)")
	}
}

func TestEmptyAndOnePoint(t *testing.T) {
	for name, out := range map[string]string{
		"no labels": string(Line(XY{Name: "a", Title: "A"})),
		"all zero":  string(Bars(XY{Name: "b", Title: "B", Labels: []string{"x", "y"}, Series: []Series{{Name: "S", Values: []float64{0, 0}}}})),
		"no series": string(Line(XY{Name: "c", Title: "C", Labels: []string{"x"}})),
		"donut":     string(Donut{Name: "d", Title: "D", Slices: []Slice{{Label: "Active"}}}.HTML()),
	} {
		wellFormed(t, out)
		if !strings.Contains(out, `class="empty-label"`) || !strings.Contains(out, "No data yet") {
			t.Errorf("%s: no empty message\n%s", name, out)
		}
		if strings.Contains(out, "NaN") || strings.Contains(out, "Inf") {
			t.Errorf("%s: NaN/Inf in output\n%s", name, out)
		}
		if !strings.Contains(out, "<svg") {
			t.Errorf("%s: an empty chart is still an svg", name)
		}
	}
	out := string(Line(XY{Name: "one", Title: "One", Empty: "Nothing", Labels: []string{"Today"}, Series: []Series{{Name: "N", Values: []float64{3}}}}))
	wellFormed(t, out)
	if strings.Contains(out, "NaN") || !strings.Contains(out, `<circle class="point" cx="274" cy="18"`) || strings.Contains(out, "Nothing") {
		t.Errorf("one point should sit in the middle at the top:\n%s", out)
	}
}

func TestBarsStack(t *testing.T) {
	out := string(Bars(XY{
		Name: "api-calls", Title: "API calls",
		Labels: []string{"Mon", "Tue"},
		Series: []Series{{Name: "Activate", Values: []float64{2, 0}}, {Name: "Verify", Values: []float64{6, 3}, Class: "status-active"}},
	}))
	wellFormed(t, out)
	// Mon stacks 2 + 6 = 8 and is labelled with its total; the axis tops at 8.
	for _, want := range []string{`class="bar series-1"`, `class="bar status-active"`, `class="value-label"`, `>8</text>`, `>3</text>`,
		`<title>Mon · Verify: 6</title>`} {
		if !strings.Contains(out, want) {
			t.Errorf("bars lack %s\n%s", want, out)
		}
	}
	if strings.Contains(out, "Tue · Activate") {
		t.Error("a zero layer should draw no rectangle")
	}
	if strings.Count(out, "<rect") != 3 {
		t.Errorf("want 3 rectangles, got %d", strings.Count(out, "<rect"))
	}
}

func TestDonut(t *testing.T) {
	out := string(Donut{Name: "licenses-status", Title: "Licenses by status", CenterLabel: "licenses", Slices: []Slice{
		{Label: "Active", Value: 6, Class: "status-active"}, {Label: "Expired", Value: 2, Class: "status-expired"}, {Label: "Blocked", Value: 0, Class: "status-blocked"},
	}}.HTML())
	wellFormed(t, out)
	for _, want := range []string{`data-chart="licenses-status"`, `class="donut-total" x="100" y="98" text-anchor="middle">8<`,
		`<title>Active: 6 (75%)</title>`, `<title>Expired: 2 (25%)</title>`, `Blocked <strong>0</strong> <span class="muted">0%</span>`,
		`<tr><th scope="row">Expired</th><td>2</td><td>25%</td></tr>`} {
		if !strings.Contains(out, want) {
			t.Errorf("donut lacks %s\n%s", want, out)
		}
	}
	if strings.Count(out, `class="slice `) != 2 {
		t.Error("an empty slice should draw no segment")
	}
	// One slice holding everything is a full ring.
	full := string(Donut{Name: "x", Title: "X", Slices: []Slice{{Label: "All", Value: 3}}}.HTML())
	if !strings.Contains(full, `stroke-dasharray="439.82 0"`) {
		t.Errorf("a whole ring:\n%s", full)
	}
}

func TestEscaping(t *testing.T) {
	evil := `<script>alert("x")</script>&`
	out := string(Line(XY{Name: `a"b`, Title: evil, XTitle: evil, Labels: []string{evil}, Series: []Series{{Name: evil, Values: []float64{1}, Class: `x" onload="y`}}, Empty: evil}))
	out += string(Donut{Name: evil, Title: evil, CenterLabel: evil, Slices: []Slice{{Label: evil, Value: 1, Class: "a b"}}}.HTML())
	wellFormed(t, "<div>"+out+"</div>")
	if strings.Contains(out, "<script") || strings.Contains(out, `onload="`) || strings.Contains(out, `data-chart="a"b"`) {
		t.Errorf("unescaped text:\n%s", out)
	}
	if !strings.Contains(out, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&amp;") {
		t.Errorf("text should be escaped, not dropped:\n%s", out)
	}
	if !strings.Contains(out, `class="series series-1"`) || !strings.Contains(out, `class="slice series-1"`) {
		t.Error("a class that is not a plain class name falls back to the palette")
	}
}
