// Package charts draws small server-side SVG charts (line, stacked bars,
// donut) for the console, so no chart script is needed.
//
// Each chart is a <figure class="chart" data-chart="name"> holding the
// <svg role="img" aria-label="…">, a legend and a visually hidden table of
// the same numbers for screen readers. The SVG carries no colours or inline
// styles (the Content-Security-Policy forbids style attributes): every
// shape has a class (series-1 … series-6, or one the caller names) and
// static/css/app.css colours them from the console's CSS variables, so the
// charts follow the theme, dark mode included.
package charts

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"strconv"
	"strings"
)

// Series is one named line, or one layer of stacked bars, with a value
// per label of its chart.
type Series struct {
	Name   string
	Values []float64
	// Class colours the series; "" means series-N by position.
	Class string
}

// XY is a chart over categories (usually days): Labels name the x
// positions and every series has one value per label (missing values
// count as 0).
type XY struct {
	Name   string // the figure's data-chart attribute
	Title  string // the accessible name and the data table's caption
	XTitle string // the data table's first column heading; "" means "Date"
	Labels []string
	Series []Series
	// Empty is drawn instead of the data when every value is 0 (or there
	// is nothing to draw); "" means "No data yet".
	Empty string
}

// Slice is one part of a donut.
type Slice struct {
	Label string
	Value float64
	Class string // "" means series-N by position
}

// Donut is a part-of-a-whole chart with its total in the middle.
type Donut struct {
	Name, Title string
	Slices      []Slice
	// CenterLabel names the total drawn in the middle ("licenses").
	CenterLabel string
	Empty       string
}

// The XY charts' drawing area, in viewBox units (the SVG scales to its
// container).
const (
	width, height = 520, 230
	padLeft       = 44
	padRight      = 16
	padTop        = 18
	padBottom     = 30
	plotW         = width - padLeft - padRight
	plotH         = height - padTop - padBottom
	yTicks        = 4  // about this many intervals on the y axis
	maxXLabels    = 8  // at most this many x labels are written
	maxBarLabels  = 16 // bars get value labels when there are at most this many
	paletteSize   = 6
)

// Line draws one line per series with a point per label; each point's
// <title> shows its value on hover.
func Line(c XY) template.HTML {
	return c.render(false, func(b *strings.Builder, top float64) {
		n := len(c.Labels)
		// Points shrink when there are many, so the line stays readable.
		radius := "3"
		if n > 45 {
			radius = "1.75"
		}
		for si, s := range c.Series {
			cls := seriesClass(s.Class, si)
			pts := make([]string, n)
			for i := range n {
				pts[i] = fmt.Sprintf("%s,%s", num(xAt(i, n)), num(yAt(value(s.Values, i), top)))
			}
			fmt.Fprintf(b, `<g class="series %s"><polyline class="line" points="%s"/>`, cls, strings.Join(pts, " "))
			for i := range n {
				v := value(s.Values, i)
				fmt.Fprintf(b, `<circle class="point" cx="%s" cy="%s" r="%s"><title>%s · %s: %s</title></circle>`,
					num(xAt(i, n)), num(yAt(v, top)), radius, esc(c.Labels[i]), esc(s.Name), Format(v))
			}
			b.WriteString(`</g>`)
		}
	})
}

// Bars draws a stack of bars per label, one layer per series, with the
// stack's total written above it when there are few bars.
func Bars(c XY) template.HTML {
	return c.render(true, func(b *strings.Builder, top float64) {
		n := len(c.Labels)
		barW := float64(plotW) / float64(n) * 0.7
		for i := range n {
			x := bandAt(i, n) - barW/2
			total := 0.0
			for si, s := range c.Series {
				v := value(s.Values, i)
				if v <= 0 {
					continue
				}
				y0, y1 := yAt(total, top), yAt(total+v, top)
				total += v
				fmt.Fprintf(b, `<rect class="bar %s" x="%s" y="%s" width="%s" height="%s"><title>%s · %s: %s</title></rect>`,
					seriesClass(s.Class, si), num(x), num(y1), num(barW), num(y0-y1), esc(c.Labels[i]), esc(s.Name), Format(v))
			}
			if total > 0 && n <= maxBarLabels {
				fmt.Fprintf(b, `<text class="value-label" x="%s" y="%s" text-anchor="middle">%s</text>`,
					num(x+barW/2), num(yAt(total, top)-4), Format(total))
			}
		}
	})
}

// render draws the frame every XY chart shares (axes, grid, tick labels,
// legend, data table) around plot, which draws the series given the y
// axis's top value. Stacked charts scale to the largest stack and place
// labels in the middle of bands; lines scale to the largest point and run
// edge to edge.
func (c XY) render(stacked bool, plot func(b *strings.Builder, top float64)) template.HTML {
	maxV := c.maxValue(stacked)
	top, step := Scale(maxV, yTicks)
	var b strings.Builder
	fmt.Fprintf(&b, `<figure class="chart" data-chart="%s">`, esc(c.Name))
	fmt.Fprintf(&b, `<svg class="chart-svg" viewBox="0 0 %d %d" role="img" aria-label="%s" xmlns="http://www.w3.org/2000/svg">`, width, height, esc(c.Title))
	fmt.Fprintf(&b, `<title>%s</title>`, esc(c.Title))
	// Grid lines and y tick labels.
	b.WriteString(`<g class="axis axis-y">`)
	for _, t := range Ticks(top, step) {
		y := num(yAt(t, top))
		fmt.Fprintf(&b, `<line class="grid" x1="%d" y1="%s" x2="%d" y2="%s"/>`, padLeft, y, width-padRight, y)
		fmt.Fprintf(&b, `<text class="tick-label" x="%d" y="%s" text-anchor="end" dominant-baseline="middle">%s</text>`, padLeft-6, y, Format(t))
	}
	b.WriteString(`</g>`)
	// The x axis and its labels, thinned to at most maxXLabels.
	fmt.Fprintf(&b, `<g class="axis axis-x"><line class="axis-line" x1="%d" y1="%d" x2="%d" y2="%d"/>`,
		padLeft, padTop+plotH, width-padRight, padTop+plotH)
	n := len(c.Labels)
	for _, i := range LabelPositions(n, maxXLabels) {
		x, anchor := xAt(i, n), "middle"
		switch {
		case stacked:
			x = bandAt(i, n)
		case i == n-1 && n > 1:
			// A line's last point is at the plot's right edge: the label
			// ends there rather than running out of the chart.
			anchor = "end"
		}
		fmt.Fprintf(&b, `<text class="tick-label" x="%s" y="%d" text-anchor="%s">%s</text>`, num(x), height-10, anchor, esc(c.Labels[i]))
	}
	b.WriteString(`</g>`)
	if maxV <= 0 {
		fmt.Fprintf(&b, `<text class="empty-label" x="%d" y="%d" text-anchor="middle">%s</text>`,
			padLeft+plotW/2, padTop+plotH/2, esc(orDefault(c.Empty, "No data yet")))
	} else {
		plot(&b, top)
	}
	b.WriteString(`</svg>`)
	c.legend(&b)
	c.table(&b)
	b.WriteString(`</figure>`)
	return template.HTML(b.String()) //nolint:gosec // every text is escaped above
}

// maxValue is the largest point, or the largest stack when stacked.
func (c XY) maxValue(stacked bool) float64 {
	m := 0.0
	for i := range c.Labels {
		sum := 0.0
		for _, s := range c.Series {
			v := max(value(s.Values, i), 0)
			sum += v
			m = max(m, v)
		}
		if stacked {
			m = max(m, sum)
		}
	}
	return m
}

// LabelPositions are the indexes of n labels that get written when at
// most limit fit: every k-th from the first, and the last one when it does
// not crowd the one before.
func LabelPositions(n, limit int) []int {
	if n <= 0 {
		return nil
	}
	limit = max(limit, 1)
	every := (n + limit - 1) / limit
	var out []int
	for i := 0; i < n; i += every {
		out = append(out, i)
	}
	if last := out[len(out)-1]; last != n-1 && n-1-last >= (every+1)/2 && len(out) < limit {
		out = append(out, n-1)
	}
	return out
}

func (c XY) legend(b *strings.Builder) {
	if len(c.Series) == 0 {
		return
	}
	b.WriteString(`<figcaption class="chart-legend"><ul>`)
	for si, s := range c.Series {
		fmt.Fprintf(b, `<li><span class="swatch %s" aria-hidden="true"></span>%s</li>`, seriesClass(s.Class, si), esc(s.Name))
	}
	b.WriteString(`</ul></figcaption>`)
}

func (c XY) table(b *strings.Builder) {
	fmt.Fprintf(b, `<table class="visually-hidden"><caption>%s</caption><thead><tr><th scope="col">%s</th>`,
		esc(c.Title), esc(orDefault(c.XTitle, "Date")))
	for _, s := range c.Series {
		fmt.Fprintf(b, `<th scope="col">%s</th>`, esc(s.Name))
	}
	b.WriteString(`</tr></thead><tbody>`)
	for i, l := range c.Labels {
		fmt.Fprintf(b, `<tr><th scope="row">%s</th>`, esc(l))
		for _, s := range c.Series {
			fmt.Fprintf(b, `<td>%s</td>`, Format(value(s.Values, i)))
		}
		b.WriteString(`</tr>`)
	}
	b.WriteString(`</tbody></table>`)
}

// HTML draws the donut: a ring segment per slice (with a <title>), the
// total in the middle and a legend with each slice's value and share.
func (d Donut) HTML() template.HTML {
	const size, r, stroke = 200, 70.0, 28.0
	total := 0.0
	for _, s := range d.Slices {
		total += max(s.Value, 0)
	}
	circ := 2 * math.Pi * r
	var b strings.Builder
	fmt.Fprintf(&b, `<figure class="chart chart-donut" data-chart="%s">`, esc(d.Name))
	fmt.Fprintf(&b, `<svg class="chart-svg" viewBox="0 0 %d %d" role="img" aria-label="%s" xmlns="http://www.w3.org/2000/svg">`, size, size, esc(d.Title))
	fmt.Fprintf(&b, `<title>%s</title>`, esc(d.Title))
	fmt.Fprintf(&b, `<circle class="donut-track" cx="100" cy="100" r="%s" fill="none" stroke-width="%s"/>`, num(r), num(stroke))
	if total > 0 {
		// Segments start at 12 o'clock and run clockwise.
		fmt.Fprintf(&b, `<g transform="rotate(-90 100 100)">`)
		offset := 0.0
		for i, s := range d.Slices {
			if s.Value <= 0 {
				continue
			}
			l := circ * s.Value / total
			fmt.Fprintf(&b, `<circle class="slice %s" cx="100" cy="100" r="%s" fill="none" stroke-width="%s" stroke-dasharray="%s %s" stroke-dashoffset="%s"><title>%s: %s (%s)</title></circle>`,
				seriesClass(s.Class, i), num(r), num(stroke), num(l), num(circ-l), num(-offset), esc(s.Label), Format(s.Value), Percent(s.Value, total))
			offset += l
		}
		b.WriteString(`</g>`)
		fmt.Fprintf(&b, `<text class="donut-total" x="100" y="98" text-anchor="middle">%s</text>`, Format(total))
		fmt.Fprintf(&b, `<text class="donut-label" x="100" y="118" text-anchor="middle">%s</text>`, esc(d.CenterLabel))
	} else {
		fmt.Fprintf(&b, `<text class="empty-label" x="100" y="104" text-anchor="middle">%s</text>`, esc(orDefault(d.Empty, "No data yet")))
	}
	b.WriteString(`</svg><figcaption class="chart-legend"><ul>`)
	for i, s := range d.Slices {
		fmt.Fprintf(&b, `<li><span class="swatch %s" aria-hidden="true"></span>%s <strong>%s</strong> <span class="muted">%s</span></li>`,
			seriesClass(s.Class, i), esc(s.Label), Format(s.Value), Percent(s.Value, total))
	}
	b.WriteString(`</ul></figcaption>`)
	fmt.Fprintf(&b, `<table class="visually-hidden"><caption>%s</caption><thead><tr><th scope="col">Part</th><th scope="col">Value</th><th scope="col">Share</th></tr></thead><tbody>`, esc(d.Title))
	for _, s := range d.Slices {
		fmt.Fprintf(&b, `<tr><th scope="row">%s</th><td>%s</td><td>%s</td></tr>`, esc(s.Label), Format(s.Value), Percent(s.Value, total))
	}
	b.WriteString(`</tbody></table></figure>`)
	return template.HTML(b.String()) //nolint:gosec // every text is escaped above
}

// Scale returns the top of a y axis from 0 that holds maxV with about
// ticks intervals of a "nice" step (1, 2 or 5 times a power of ten, and
// never below 1: the charts count things). An axis for nothing runs 0–1.
func Scale(maxV float64, ticks int) (top, step float64) {
	if ticks < 1 {
		ticks = 1
	}
	if !(maxV > 0) || math.IsInf(maxV, 0) {
		return 1, 1
	}
	rough := maxV / float64(ticks)
	mag := math.Pow(10, math.Floor(math.Log10(rough)))
	switch norm := rough / mag; {
	case norm <= 1:
		step = mag
	case norm <= 2:
		step = 2 * mag
	case norm <= 5:
		step = 5 * mag
	default:
		step = 10 * mag
	}
	step = max(step, 1)
	return math.Ceil(maxV/step) * step, step
}

// Ticks are the values from 0 to top every step.
func Ticks(top, step float64) []float64 {
	if step <= 0 {
		return []float64{0}
	}
	var out []float64
	for i := 0; ; i++ {
		v := float64(i) * step
		if v > top+step/1e9 {
			break
		}
		out = append(out, v)
	}
	return out
}

// Format writes a number for people: whole numbers with thousands
// separators (12,345), others with at most two decimals.
func Format(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "–"
	}
	if v != math.Trunc(v) || math.Abs(v) >= 1e15 {
		return strconv.FormatFloat(math.Round(v*100)/100, 'f', -1, 64)
	}
	s := strconv.FormatInt(int64(math.Abs(v)), 10)
	var b strings.Builder
	if v < 0 {
		b.WriteByte('-')
	}
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Percent is part's share of total, rounded to a whole percent ("0%"
// when total is 0).
func Percent(part, total float64) string {
	if total <= 0 {
		return "0%"
	}
	return strconv.Itoa(int(math.Round(100*part/total))) + "%"
}

// xAt is the x of position i of n, spread edge to edge of the plot (one
// position sits in the middle).
func xAt(i, n int) float64 {
	if n <= 1 {
		return padLeft + plotW/2.0
	}
	return padLeft + float64(i)*plotW/float64(n-1)
}

// bandAt is the middle of band i of n equal bands across the plot.
func bandAt(i, n int) float64 {
	return padLeft + (float64(i)+0.5)*plotW/float64(max(n, 1))
}

// yAt is the y of value v on an axis from 0 to top.
func yAt(v, top float64) float64 {
	return padTop + plotH - max(v, 0)/top*plotH
}

func value(vs []float64, i int) float64 {
	if i < len(vs) && !math.IsNaN(vs[i]) && !math.IsInf(vs[i], 0) {
		return vs[i]
	}
	return 0
}

// seriesClass is the caller's class when it is a plain CSS class name,
// else series-N by position (cycling through the palette).
func seriesClass(class string, i int) string {
	if class != "" && strings.Trim(class, "abcdefghijklmnopqrstuvwxyz0123456789-") == "" {
		return class
	}
	return "series-" + strconv.Itoa(i%paletteSize+1)
}

func num(v float64) string { return strconv.FormatFloat(math.Round(v*100)/100, 'f', -1, 64) }

func esc(s string) string { return html.EscapeString(s) }

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
