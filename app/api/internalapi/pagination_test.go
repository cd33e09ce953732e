package internalapi

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/licensor/licensor/app/web"
)

func TestParsePageRequest(t *testing.T) {
	t.Parallel()
	cases := []struct {
		query      string
		page, per  int
		otherQuery []string
	}{
		{"", 1, 15, nil},
		{"page=3&per_page=20", 3, 20, []string{"per_page=20"}},
		{"per_page=500", 1, 100, []string{"per_page=500"}},
		{"page=abc&per_page=-4", 1, 15, []string{"per_page=-4"}},
		{"page=0&per_page=0", 1, 15, []string{"per_page=0"}},
		{"search=ann+lee&page=2&status=valid", 2, 15, []string{"search=ann+lee", "status=valid"}},
		{"search=%27%20OR%201%3D1--", 1, 15, []string{"search=%27+OR+1%3D1--"}},
		{"bad=%zz&ok=1", 1, 15, []string{"ok=1"}},
	}
	for _, c := range cases {
		r := parsePageRequest("https://lic.example.com/api/internal/customers", c.query)
		if r.Page.Number != c.page || r.Page.PerPage != c.per || !slices.Equal(r.Query, c.otherQuery) {
			t.Errorf("%q: page %d per %d query %q", c.query, r.Page.Number, r.Page.PerPage, r.Query)
		}
	}
}

func TestPageEnvelopeBytes(t *testing.T) {
	t.Parallel()
	r := parsePageRequest("https://lic.example.com/api/internal/customers", "status=valid&page=1")
	got := encode(t, newPage([]int{1, 2}, 52, r))
	p := "https://lic.example.com/api/internal/customers"
	u := func(n string) string { return `"` + p + `?status=valid&page=` + n + `"` }
	want := `{"data":[1,2],"links":{"first":` + u("1") + `,"last":` + u("4") + `,"prev":null,"next":` + u("2") + `},` +
		`"meta":{"current_page":1,"from":1,"last_page":4,"links":[` +
		`{"url":null,"label":"&laquo; Previous","active":false},` +
		`{"url":` + u("1") + `,"label":"1","active":true},` +
		`{"url":` + u("2") + `,"label":"2","active":false},` +
		`{"url":` + u("3") + `,"label":"3","active":false},` +
		`{"url":` + u("4") + `,"label":"4","active":false},` +
		`{"url":` + u("2") + `,"label":"Next &raquo;","active":false}],` +
		`"path":"` + p + `","per_page":15,"to":2,"total":52}}`
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

func TestPageEnvelopeEmptyAndBeyondTheEnd(t *testing.T) {
	t.Parallel()
	r := parsePageRequest("http://x/l", "")
	got := encode(t, newPage[int](nil, 0, r))
	want := `{"data":[],"links":{"first":"http://x/l?page=1","last":"http://x/l?page=1","prev":null,"next":null},` +
		`"meta":{"current_page":1,"from":null,"last_page":1,"links":[{"url":null,"label":"&laquo; Previous","active":false},` +
		`{"url":"http://x/l?page=1","label":"1","active":true},{"url":null,"label":"Next &raquo;","active":false}],` +
		`"path":"http://x/l","per_page":15,"to":null,"total":0}}`
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}

	r = parsePageRequest("http://x/l", "page=3&per_page=10")
	page := newPage([]int{}, 25, r)
	if page.Meta.From != nil || page.Meta.To != nil || page.Links.Next != nil || *page.Links.Prev != "http://x/l?per_page=10&page=2" {
		t.Fatalf("%+v", page)
	}
	r = parsePageRequest("http://x/l", "page=2&per_page=10")
	page = newPage([]int{11, 12, 13, 14, 15, 16, 17, 18, 19, 20}, 25, r)
	if *page.Meta.From != 11 || *page.Meta.To != 20 || page.Meta.LastPage != 3 {
		t.Fatalf("%+v", page.Meta)
	}
}

func TestPageWindow(t *testing.T) {
	t.Parallel()
	cases := []struct {
		cur, last int
		want      []int
	}{
		{1, 1, []int{1}},
		{5, 13, []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13}},
		{1, 20, []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0, 19, 20}},
		{7, 20, []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0, 19, 20}},
		{10, 20, []int{1, 2, 0, 7, 8, 9, 10, 11, 12, 13, 0, 19, 20}},
		{14, 20, []int{1, 2, 0, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20}},
		{20, 20, []int{1, 2, 0, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20}},
	}
	for _, c := range cases {
		if got := pageWindow(c.cur, c.last); !slices.Equal(got, c.want) {
			t.Errorf("page %d of %d: %v, want %v", c.cur, c.last, got, c.want)
		}
	}
	page := newPage([]int{1}, 300, parsePageRequest("http://x/l", "page=10"))
	var gaps int
	for _, l := range page.Meta.Links {
		if l.Label == "..." {
			gaps++
			if l.URL != nil || l.Active {
				t.Fatalf("gap %+v", l)
			}
		}
	}
	if gaps != 2 {
		t.Fatalf("%d gaps in %+v", gaps, page.Meta.Links)
	}
}

func encode(t *testing.T, v any) string {
	t.Helper()
	b, err := web.JSONEncoder(v)
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(b) {
		t.Fatalf("invalid JSON %s", b)
	}
	return string(b)
}
