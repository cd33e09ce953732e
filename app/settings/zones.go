package settings

import (
	"bufio"
	"os"
	"slices"
	"strings"
	"sync"
)

// zoneTables are the zone database's tables of zone names, the first
// found is read (Debian's tzdata package installs them; the Docker image
// has it).
var zoneTables = []string{"/usr/share/zoneinfo/zone1970.tab", "/usr/share/zoneinfo/zone.tab"}

var zones = sync.OnceValue(func() []string {
	out := []string{"UTC"}
	for _, path := range zoneTables {
		f, err := os.Open(path)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line := sc.Text()
			if strings.HasPrefix(line, "#") {
				continue
			}
			cols := strings.Split(line, "\t")
			if len(cols) >= 3 && cols[2] != "" {
				out = append(out, cols[2])
			}
		}
		_ = f.Close()
		break
	}
	slices.Sort(out[1:])
	return slices.Compact(out)
})

// Zones are the time zone names the timezone setting offers: UTC, then
// every zone of the system's zone database (zone1970.tab), sorted; only
// UTC where the database is missing. Any name time.LoadLocation accepts
// stays valid (checkTimezone), whether listed or not.
func Zones() []string { return zones() }
