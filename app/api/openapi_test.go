package api_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/licensor/licensor/app/server/servertest"
)

// fiberParam is a route parameter as Fiber writes it (":product", ":type?").
var fiberParam = regexp.MustCompile(`:([A-Za-z0-9_]+)\??`)

// Every registered API route appears in the OpenAPI document: as an
// operation on its modern path, or as a legacy alias listed in
// x-legacy-paths on its modern twin (docs/api/README.md#openapi-document).
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	r := e.Client(t).Get("/api/openapi.json")
	if r.StatusCode != 200 || r.Header.Get("Content-Type") != "application/json; charset=utf-8" {
		t.Fatalf("GET /api/openapi.json: %d %s", r.StatusCode, r.Header.Get("Content-Type"))
	}
	var doc struct {
		OpenAPI    string                                `json:"openapi"`
		Paths      map[string]map[string]json.RawMessage `json:"paths"`
		Components struct {
			SecuritySchemes map[string]any `json:"securitySchemes"`
		} `json:"components"`
	}
	if err := json.Unmarshal([]byte(r.Body), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" || doc.Components.SecuritySchemes["ApiKey"] == nil {
		t.Fatalf("not an OpenAPI 3.1 document with the API key scheme: %s", r.Body[:min(200, len(r.Body))])
	}

	legacyPaths := map[string]bool{}
	ids := map[string]string{}
	for path, item := range doc.Paths {
		for method, raw := range item {
			var op struct {
				ID        string                `json:"operationId"`
				Legacy    []string              `json:"x-legacy-paths"`
				Scope     string                `json:"x-scope"`
				Responses map[string]any        `json:"responses"`
				Security  []map[string][]string `json:"security"`
			}
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatalf("%s %s: %v", method, path, err)
			}
			if op.ID == "" || len(op.Responses) == 0 {
				t.Errorf("%s %s: operationId or responses missing", method, path)
			}
			if prev, dup := ids[op.ID]; dup {
				t.Errorf("operationId %s used by %s and %s %s", op.ID, prev, method, path)
			}
			ids[op.ID] = method + " " + path
			if op.Scope != "" && (len(op.Security) != 1 || !slices.Contains(op.Security[0]["ApiKey"], op.Scope)) {
				t.Errorf("%s %s: scope %s not in its security requirement", method, path, op.Scope)
			}
			for _, l := range op.Legacy {
				legacyPaths[l] = true
			}
		}
	}

	seen := 0
	for _, route := range e.App.GetRoutes(true) {
		if !strings.HasPrefix(route.Path, "/api/") && !strings.HasPrefix(route.Path, "/api_internal/") {
			continue
		}
		seen++
		path := fiberParam.ReplaceAllString(strings.TrimSuffix(route.Path, "/"), "{$1}")
		method := strings.ToLower(route.Method)
		item := doc.Paths[path]
		if _, ok := item[method]; ok {
			continue
		}
		if _, ok := item["get"]; ok && route.Method == http.MethodHead {
			continue // HEAD of a documented GET
		}
		if legacyPaths[path] {
			continue
		}
		t.Errorf("%s %s is not in the OpenAPI document", route.Method, route.Path)
	}
	if seen < 15 {
		t.Fatalf("only %d API routes found; is the walk reading the app's routes?", seen)
	}
}
