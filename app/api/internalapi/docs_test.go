package internalapi_test

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestEveryRouteIsDocumented: each internal route the app registers is an
// operation of the OpenAPI document, or a legacy path listed on one.
func TestEveryRouteIsDocumented(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	r := a.c.Get("/api/openapi.json")
	if r.StatusCode != 200 {
		t.Fatalf("%d %s", r.StatusCode, r.Body)
	}
	var doc struct {
		Paths map[string]map[string]struct {
			Scope       string   `json:"x-scope"`
			LegacyPaths []string `json:"x-legacy-paths"`
		} `json:"paths"`
	}
	if err := json.Unmarshal([]byte(r.Body), &doc); err != nil {
		t.Fatal(err)
	}
	legacy := map[string]bool{}
	for _, item := range doc.Paths {
		for _, op := range item {
			for _, p := range op.LegacyPaths {
				legacy[p] = true
			}
		}
	}
	param := regexp.MustCompile(`:(\w+)`)
	seen := 0
	for _, route := range a.env.App.GetRoutes(true) {
		path := strings.TrimSuffix(route.Path, "/")
		modern := strings.HasPrefix(path, "/api/internal/")
		legacyCall := strings.HasPrefix(path, "/api_internal/") || slices.Contains(legacyNames, strings.TrimPrefix(path, "/api/"))
		if route.Method == "HEAD" || !modern && !legacyCall {
			continue
		}
		seen++
		if legacyCall {
			if !legacy[path] {
				t.Errorf("%s %s is not listed in any x-legacy-paths", route.Method, path)
			}
			continue
		}
		op, ok := doc.Paths[param.ReplaceAllString(path, "{$1}")][strings.ToLower(route.Method)]
		if !ok {
			t.Errorf("%s %s is not in the document", route.Method, path)
			continue
		}
		if op.Scope == "" {
			t.Errorf("%s %s has no x-scope", route.Method, path)
		}
	}
	if seen < 50 {
		t.Fatalf("only %d internal routes seen", seen)
	}
}

var legacyNames = []string{
	"check_connection_int", "add_product", "get_product", "get_products", "mark_product_active", "mark_product_inactive",
	"edit_or_create_version", "create_license", "edit_license", "get_license", "search_license", "delete_license", "block_license", "unblock_license",
	"deactivate_license_activations",
}
