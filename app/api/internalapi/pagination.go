package internalapi

import (
	"net/url"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/listing"
)

// The pagination envelope of docs/api/resources.md, byte for byte what Laravel's
// LengthAwarePaginator gives an API resource collection: existing clients
// read links.next and meta.last_page, and some render meta.links.

type pageResponse[T any] struct {
	Data  []T       `json:"data"`
	Links pageLinks `json:"links"`
	Meta  pageMeta  `json:"meta"`
}

type pageLinks struct {
	First string  `json:"first"`
	Last  string  `json:"last"`
	Prev  *string `json:"prev"`
	Next  *string `json:"next"`
}

type pageMeta struct {
	CurrentPage int        `json:"current_page"`
	From        *int       `json:"from"`
	LastPage    int        `json:"last_page"`
	Links       []pageLink `json:"links"`
	Path        string     `json:"path"`
	PerPage     int        `json:"per_page"`
	To          *int       `json:"to"`
	Total       int        `json:"total"`
}

type pageLink struct {
	URL    *string `json:"url"`
	Label  string  `json:"label"`
	Active bool    `json:"active"`
}

const (
	previousLabel = "&laquo; Previous"
	nextLabel     = "Next &raquo;"
	// onEachSide is how many page numbers meta.links shows around the
	// current page once there are too many to list them all.
	onEachSide = 3
)

// pageRequest is the page asked for and the address its links are built on.
type pageRequest struct {
	Page listing.Page
	// Path is the absolute URL of the list without a query.
	Path string
	// Query holds the other query parameters in the order they came, each
	// already encoded as key=value; the links keep them.
	Query []string
}

// parsePageRequest reads page and per_page from rawQuery (invalid values
// fall back to the defaults, per_page above the maximum is clamped) and
// keeps every other parameter for the links.
func parsePageRequest(path, rawQuery string) pageRequest {
	r := pageRequest{Path: path}
	for _, pair := range strings.Split(rawQuery, "&") {
		if pair == "" {
			continue
		}
		rawKey, rawValue, _ := strings.Cut(pair, "=")
		key, err := url.QueryUnescape(rawKey)
		if err != nil {
			continue
		}
		value, err := url.QueryUnescape(rawValue)
		if err != nil {
			continue
		}
		switch key {
		case "page":
			r.Page.Number = atoiOrZero(value)
			continue
		case "per_page":
			r.Page.PerPage = atoiOrZero(value)
		}
		r.Query = append(r.Query, url.QueryEscape(key)+"="+url.QueryEscape(value))
	}
	r.Page = r.Page.Normalize()
	return r
}

func atoiOrZero(s string) int {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0
	}
	return n
}

// url is the address of page n: the other parameters first, page last.
func (r pageRequest) url(n int) string {
	q := append(append([]string(nil), r.Query...), "page="+strconv.Itoa(n))
	return r.Path + "?" + strings.Join(q, "&")
}

// newPage wraps one page of items, out of total, in the envelope.
func newPage[T any](items []T, total int, r pageRequest) pageResponse[T] {
	cur, per := r.Page.Number, r.Page.PerPage
	last := max((total+per-1)/per, 1)
	ref := func(n int) *string {
		u := r.url(n)
		return &u
	}
	var prev, next *string
	if cur > 1 {
		prev = ref(cur - 1)
	}
	if cur < last {
		next = ref(cur + 1)
	}
	var from, to *int
	if len(items) > 0 {
		f := (cur-1)*per + 1
		t := f + len(items) - 1
		from, to = &f, &t
	}
	if items == nil {
		items = []T{}
	}

	links := []pageLink{{URL: prev, Label: previousLabel}}
	for _, n := range pageWindow(cur, last) {
		if n == 0 {
			links = append(links, pageLink{Label: "..."})
			continue
		}
		links = append(links, pageLink{URL: ref(n), Label: strconv.Itoa(n), Active: n == cur})
	}
	links = append(links, pageLink{URL: next, Label: nextLabel})

	return pageResponse[T]{
		Data:  items,
		Links: pageLinks{First: r.url(1), Last: r.url(last), Prev: prev, Next: next},
		Meta: pageMeta{
			CurrentPage: cur, From: from, LastPage: last, Links: links,
			Path: r.Path, PerPage: per, To: to, Total: total,
		},
	}
}

// pageWindow lists the page numbers meta.links shows, 0 standing for a
// "..." gap: every page when there are few, else the first two, the pages
// around the current one and the last two (Laravel's UrlWindow).
func pageWindow(cur, last int) []int {
	span := func(a, b int) []int {
		var out []int
		for n := max(a, 1); n <= min(b, last); n++ {
			out = append(out, n)
		}
		return out
	}
	if last < onEachSide*2+8 {
		return span(1, last)
	}
	window := onEachSide + 4
	start, finish := span(1, 2), span(last-1, last)
	switch {
	case cur <= window:
		return append(append(span(1, window+onEachSide), 0), finish...)
	case cur > last-window:
		return append(append(start, 0), span(last-(window+onEachSide-1), last)...)
	}
	out := append(append(start, 0), span(cur-onEachSide, cur+onEachSide)...)
	return append(append(out, 0), finish...)
}

// pageRequest reads the page a list request asks for; its links are built
// on the configured base URL and the request's path.
func (h *handlers) pageRequest(c fiber.Ctx) pageRequest {
	path := strings.TrimSuffix(h.baseURL, "/") + strings.TrimRight(c.Path(), "/")
	return parsePageRequest(path, string(c.Request().URI().QueryString()))
}
