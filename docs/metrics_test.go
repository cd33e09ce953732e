package docs

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// licensorMetric is a Licensor metric's name in a query: the histogram's
// series suffixes are the histogram's.
var licensorMetric = regexp.MustCompile(`\blicensor_([a-z_]+?)(_bucket|_count|_sum)?\b`)

// TestDashboardAndAlertMetricsExist fails when the Grafana dashboard or the
// deploy guide's Metrics section (its table and alert suggestions) name a
// licensor_* metric that no code registers (app/metrics, and the gauges
// app/node adds): a renamed metric would leave panels empty and alerts
// silent.
func TestDashboardAndAlertMetricsExist(t *testing.T) {
	var code strings.Builder
	for _, f := range []string{"app/metrics/metrics.go", "app/node/node.go"} {
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		code.Write(b)
	}
	registered := func(name string) bool {
		return strings.Contains(code.String(), `"`+name+`"`) || strings.Contains(code.String(), `"_`+name+`"`)
	}
	for _, doc := range []string{"grafana-dashboard.json", "deploy.md"} {
		b, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		text := string(b)
		if doc == "deploy.md" {
			start := strings.Index(text, "\n## Metrics\n")
			end := strings.Index(text[start+1:], "\n## ")
			if start < 0 || end < 0 {
				t.Fatal("deploy.md has no Metrics section")
			}
			text = text[start : start+1+end]
		}
		seen := 0
		for _, m := range licensorMetric.FindAllStringSubmatch(text, -1) {
			name := m[1]
			if m[2] != "" && !registered(name) {
				name += m[2] // a counter named …_count, say
			}
			seen++
			if !registered(name) {
				t.Errorf("%s queries licensor_%s, which no code registers", doc, name)
			}
		}
		if seen == 0 {
			t.Errorf("%s names no licensor_* metric", doc)
		}
	}
}
