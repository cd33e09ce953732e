// Package openapi builds the OpenAPI 3.1 document served at
// GET /api/openapi.json (docs/api/README.md#openapi-document). Each API
// package describes its operations next to its routes; api.Document
// collects them in a Registry, which builds the document once, on first
// request, and from which the docs package's test writes the reference
// under docs/api/. A test in app/api walks the app's routes and fails when
// one is missing from the document.
package openapi

import (
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/web"
)

// Schema is a JSON Schema (draft 2020-12, the dialect of OpenAPI 3.1).
type Schema = map[string]any

// SecurityScheme is the name of the API key scheme in the document.
const SecurityScheme = "ApiKey"

// Operation is one endpoint: a method on a modern path.
type Operation struct {
	// Method is an HTTP method in upper case; Path the full modern path
	// with OpenAPI parameters: /api/internal/products/{product}.
	Method, Path string
	ID           string // operationId, unique
	Summary      string
	Description  string
	Tags         []string
	// Scope is the key scope the endpoint needs; "" for a public endpoint.
	Scope string
	// Parameters are path, query and header parameters.
	Parameters []Parameter
	// Body is the request body's schema (JSON, form or multipart; nil: no
	// body). Multipart marks endpoints taking files.
	Body      Schema
	Multipart bool
	// Responses by status ("200", "404", …).
	Responses map[string]Response
	// LegacyPaths are the legacy aliases (docs/api/external.md,
	// docs/api/legacy.md) that run this operation.
	LegacyPaths []string
}

// Parameter is a path, query or header parameter.
type Parameter struct {
	Name, In, Description string
	Required              bool
	Schema                Schema
}

// Response is one documented answer.
type Response struct {
	Description string
	// Schema of the JSON body; nil for an empty body. ContentType
	// overrides application/json (file downloads).
	Schema      Schema
	ContentType string
	Headers     map[string]string // name → description
}

// Ref refers to a schema under components/schemas.
func Ref(name string) Schema { return Schema{"$ref": "#/components/schemas/" + name} }

// Registry collects operations and shared schemas.
type Registry struct {
	mu      sync.Mutex
	ops     []Operation
	schemas map[string]Schema
	doc     []byte
}

// NewRegistry returns a registry holding the shared error schemas.
func NewRegistry() *Registry {
	r := &Registry{schemas: map[string]Schema{}}
	r.AddSchema("Error", Object(map[string]Schema{
		"status":    {"type": "boolean", "const": false},
		"is_active": {"type": "boolean", "const": false},
		"message":   String("What went wrong (docs/api/conventions.md#error-envelope)."),
	}, "status", "is_active", "message"))
	r.AddSchema("ValidationError", Object(map[string]Schema{
		"status":    {"type": "boolean", "const": false},
		"is_active": {"type": "boolean", "const": false},
		"message":   String(`The first error, then " (and N more errors)" when there are more.`),
		"errors": {
			"type":                 "object",
			"additionalProperties": Schema{"type": "array", "items": Schema{"type": "string"}},
		},
	}, "status", "is_active", "message", "errors"))
	return r
}

// Add registers operations.
func (r *Registry) Add(ops ...Operation) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ops = append(r.ops, ops...)
	r.doc = nil
}

// AddSchema registers a shared schema under components/schemas.
func (r *Registry) AddSchema(name string, s Schema) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.schemas[name] = s
	r.doc = nil
}

// Operations returns the registered operations.
func (r *Registry) Operations() []Operation {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.ops)
}

// Document builds the OpenAPI document.
func (r *Registry) Document() map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	paths := map[string]map[string]any{}
	tags := map[string]bool{}
	for _, op := range r.ops {
		item := paths[op.Path]
		if item == nil {
			item = map[string]any{}
			paths[op.Path] = item
		}
		item[strings.ToLower(op.Method)] = operation(op)
		for _, t := range op.Tags {
			tags[t] = true
		}
	}
	tagList := []map[string]string{}
	for _, t := range slices.Sorted(maps.Keys(tags)) {
		tagList = append(tagList, map[string]string{"name": t})
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title":   "Licensor API",
			"version": "1",
			"description": "License Manager / LicenseBox compatible licensing API. External endpoints answer " +
				"business failures with HTTP 200 and status false; every JSON body carries status and is_active.",
		},
		"jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
		"tags":              tagList,
		"paths":             paths,
		"components": map[string]any{
			"schemas": r.schemas,
			"securitySchemes": map[string]any{
				SecurityScheme: map[string]any{
					"type": "apiKey", "in": "header", "name": "X-API-KEY",
					"description": "An external or internal API key (legacy header LB-API-KEY). " +
						"The scope an operation needs is listed in its security requirement and in x-scope.",
				},
			},
		},
	}
}

func operation(op Operation) map[string]any {
	o := map[string]any{"operationId": op.ID, "summary": op.Summary}
	if op.Description != "" {
		o["description"] = op.Description
	}
	if len(op.Tags) > 0 {
		o["tags"] = op.Tags
	}
	if op.Scope != "" {
		o["security"] = []map[string][]string{{SecurityScheme: {op.Scope}}}
		o["x-scope"] = op.Scope
	} else {
		o["security"] = []map[string][]string{}
	}
	if len(op.LegacyPaths) > 0 {
		o["x-legacy-paths"] = op.LegacyPaths
	}
	var params []map[string]any
	for _, p := range op.Parameters {
		s := p.Schema
		if s == nil {
			s = Schema{"type": "string"}
		}
		pm := map[string]any{"name": p.Name, "in": p.In, "required": p.Required || p.In == "path", "schema": s}
		if p.Description != "" {
			pm["description"] = p.Description
		}
		params = append(params, pm)
	}
	if len(params) > 0 {
		o["parameters"] = params
	}
	if op.Body != nil {
		content := map[string]any{
			"application/json":                  map[string]any{"schema": op.Body},
			"application/x-www-form-urlencoded": map[string]any{"schema": op.Body},
		}
		if op.Multipart {
			content["multipart/form-data"] = map[string]any{"schema": op.Body}
		}
		o["requestBody"] = map[string]any{"required": false, "content": content}
	}
	responses := map[string]any{}
	for code, resp := range op.Responses {
		rm := map[string]any{"description": resp.Description}
		if resp.Schema != nil {
			ct := resp.ContentType
			if ct == "" {
				ct = "application/json"
			}
			rm["content"] = map[string]any{ct: map[string]any{"schema": resp.Schema}}
		}
		if len(resp.Headers) > 0 {
			hs := map[string]any{}
			for name, desc := range resp.Headers {
				hs[name] = map[string]any{"description": desc, "schema": Schema{"type": "string"}}
			}
			rm["headers"] = hs
		}
		responses[code] = rm
	}
	o["responses"] = responses
	return o
}

// Handler serves the document as JSON. It is built on the first request,
// after every package has registered its operations.
func (r *Registry) Handler() fiber.Handler {
	return func(c fiber.Ctx) error {
		r.mu.Lock()
		doc := r.doc
		r.mu.Unlock()
		if doc == nil {
			b, err := web.JSONEncoder(r.Document())
			if err != nil {
				return err
			}
			r.mu.Lock()
			r.doc, doc = b, b
			r.mu.Unlock()
		}
		c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
		return c.Send(doc)
	}
}

// Serve serves the document of the registry build returns, calling build
// at the first request: the operations' schemas are many maps, and a
// start of the server need not make them.
func Serve(build func() *Registry) fiber.Handler {
	handler := sync.OnceValue(func() fiber.Handler { return build().Handler() })
	return func(c fiber.Ctx) error { return handler()(c) }
}

// Object is an object schema with properties and required keys.
func Object(props map[string]Schema, required ...string) Schema {
	s := Schema{"type": "object", "properties": props}
	if len(required) > 0 {
		s["required"] = required
	}
	return s
}

// String is a string schema with a description.
func String(description string) Schema {
	return Schema{"type": "string", "description": description}
}

// Nullable allows null besides s's type.
func Nullable(s Schema) Schema {
	out := maps.Clone(s)
	if t, ok := s["type"].(string); ok {
		out["type"] = []string{t, "null"}
		return out
	}
	return Schema{"anyOf": []Schema{s, {"type": "null"}}}
}
