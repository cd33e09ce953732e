package catalog

import (
	"cmp"
	"slices"
)

// UpdateCandidate picks the version update/check offers a client at
// current (docs/api/external.md#update-check step 2) among vs: only active versions count, ordered
// by docs/api/version-comparison.md with ties broken by the later release date, then the higher id.
// newest (product setting serve_latest_updates) offers the newest one;
// otherwise the lowest version greater than current (step-by-step
// upgrades). The result is nil unless it compares greater than current.
func UpdateCandidate(vs []Version, current string, newest bool) *Version {
	active := make([]*Version, 0, len(vs))
	for i := range vs {
		if vs[i].IsActive {
			active = append(active, &vs[i])
		}
	}
	// Ascending: oldest first, and among equal numbers the preferred row
	// (later release, higher id) last.
	slices.SortStableFunc(active, func(a, b *Version) int {
		if c := CompareVersions(a.Version, b.Version); c != 0 {
			return c
		}
		if c := a.ReleasedAt.Compare(b.ReleasedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	if len(active) == 0 {
		return nil
	}
	if newest {
		v := active[len(active)-1]
		if CompareVersions(v.Version, current) > 0 {
			return v
		}
		return nil
	}
	for i, v := range active {
		if CompareVersions(v.Version, current) <= 0 {
			continue
		}
		// Among rows of the same number take the preferred one.
		for i+1 < len(active) && CompareVersions(active[i+1].Version, v.Version) == 0 {
			i++
			v = active[i]
		}
		return v
	}
	return nil
}
