package docs

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
)

// The API reference's generated blocks are rendered from the OpenAPI
// document that GET /api/openapi.json serves (api.Document), decoded from
// its JSON so that what is rendered is exactly what is served.

// apiDoc is the part of an OpenAPI 3.1 document the reference shows.
type apiDoc struct {
	Paths      map[string]map[string]apiOp `json:"paths"`
	Components struct {
		Schemas map[string]schema `json:"schemas"`
	} `json:"components"`
}

type apiOp struct {
	ID          string   `json:"operationId"`
	Summary     string   `json:"summary"`
	Description string   `json:"description"`
	Scope       string   `json:"x-scope"`
	Legacy      []string `json:"x-legacy-paths"`
	Parameters  []struct {
		Name        string `json:"name"`
		In          string `json:"in"`
		Required    bool   `json:"required"`
		Description string `json:"description"`
		Schema      schema `json:"schema"`
	} `json:"parameters"`
	RequestBody *struct {
		Content map[string]struct {
			Schema schema `json:"schema"`
		} `json:"content"`
	} `json:"requestBody"`
	Responses map[string]struct {
		Description string `json:"description"`
		Content     map[string]struct {
			Schema schema `json:"schema"`
		} `json:"content"`
		Headers map[string]struct {
			Description string `json:"description"`
		} `json:"headers"`
	} `json:"responses"`

	method, path string
}

// schema is a JSON Schema as decoded from JSON.
type schema map[string]any

func decodeAPIDoc(document any) (*apiDoc, error) {
	b, err := json.Marshal(document)
	if err != nil {
		return nil, err
	}
	var d apiDoc
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// operations lists the document's operations by path, then method.
func (d *apiDoc) operations() []apiOp {
	var ops []apiOp
	for _, path := range slices.Sorted(maps.Keys(d.Paths)) {
		for method, op := range d.Paths[path] {
			op.method, op.path = strings.ToUpper(method), path
			ops = append(ops, op)
		}
	}
	order := map[string]int{"GET": 0, "HEAD": 1, "POST": 2, "PUT": 3, "PATCH": 4, "DELETE": 5}
	sort.SliceStable(ops, func(i, j int) bool {
		if ops[i].path != ops[j].path {
			return ops[i].path < ops[j].path
		}
		return order[ops[i].method] < order[ops[j].method]
	})
	return ops
}

// operationBlock renders one operation: its line, scope and legacy paths,
// description, parameters, body fields and answers.
func operationBlock(op apiOp) string {
	var b strings.Builder
	fmt.Fprintf(&b, "`%s %s` — %s.\n\n", op.method, op.path, cell(strings.TrimSuffix(op.Summary, ".")))
	if op.Scope != "" {
		fmt.Fprintf(&b, "Scope `%s`.", op.Scope)
	} else {
		b.WriteString("Public: no API key.")
	}
	if len(op.Legacy) > 0 {
		b.WriteString(" Legacy paths: ")
		for i, l := range op.Legacy {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "`%s`", l)
		}
		b.WriteString(".")
	}
	b.WriteString("\n")
	if op.Description != "" {
		fmt.Fprintf(&b, "\n%s\n", cell(op.Description))
	}
	if len(op.Parameters) > 0 {
		b.WriteString("\n| parameter | in | required | description |\n|---|---|---|---|\n")
		for _, p := range op.Parameters {
			req := ""
			if p.Required {
				req = "yes"
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", p.Name, p.In, req, cell(p.Description))
		}
	}
	if op.RequestBody != nil {
		var body schema
		kinds := slices.Sorted(maps.Keys(op.RequestBody.Content))
		for _, ct := range kinds {
			body = op.RequestBody.Content[ct].Schema
		}
		if props := properties(body); len(props) > 0 {
			how := "JSON, form or query string"
			if slices.Contains(kinds, "multipart/form-data") {
				how = "multipart (files), JSON, form or query string"
			}
			fmt.Fprintf(&b, "\n| field (%s) | type | rules | description |\n|---|---|---|---|\n", how)
			required := stringList(body["required"])
			for _, name := range slices.Sorted(maps.Keys(props)) {
				p := props[name]
				fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", name, cell(typeName(p)), cell(rules(p, slices.Contains(required, name))), cell(str(p["description"])))
			}
		}
	}
	b.WriteString("\n| status | answer |\n|---|---|\n")
	for _, code := range slices.Sorted(maps.Keys(op.Responses)) {
		r := op.Responses[code]
		answer := strings.TrimSpace(r.Description)
		for _, ct := range slices.Sorted(maps.Keys(r.Content)) {
			s := r.Content[ct].Schema
			if ct != "application/json" {
				answer += fmt.Sprintf(" `%s`", ct)
				continue
			}
			if shape := shapeOf(s); shape != "" {
				answer += " " + shape
			}
		}
		if len(r.Content) == 0 && !strings.Contains(strings.ToLower(answer), "body") {
			answer += " No body."
		}
		if len(r.Headers) > 0 {
			var hs []string
			for _, h := range slices.Sorted(maps.Keys(r.Headers)) {
				hs = append(hs, fmt.Sprintf("`%s`: %s", h, strings.TrimSuffix(strings.TrimSpace(r.Headers[h].Description), ".")))
			}
			answer += " Headers: " + strings.Join(hs, "; ") + "."
		}
		fmt.Fprintf(&b, "| %s | %s |\n", code, cell(answer))
	}
	return b.String()
}

// shapeOf describes a JSON answer: a link for the shared envelopes and
// resources, else the body's keys.
func shapeOf(s schema) string {
	if ref := str(s["$ref"]); ref != "" {
		return refLink(ref)
	}
	if alts := schemas(s["oneOf"]); len(alts) > 0 {
		parts := make([]string, len(alts))
		for i, a := range alts {
			parts[i] = shapeOf(a)
		}
		return "One of: " + strings.Join(parts, "; or ")
	}
	return "`" + compact(s, 0) + "`"
}

// refLink names a shared schema by a link into the reference.
func refLink(ref string) string {
	name := strings.TrimPrefix(ref, "#/components/schemas/")
	switch name {
	case "Error":
		return "[error envelope](conventions.md#error-envelope)"
	case "ValidationError":
		return "[validation envelope](conventions.md#error-envelope)"
	}
	return fmt.Sprintf("[%s](resources.md#%s)", name, strings.ToLower(name))
}

// compact writes a schema as one line of JSON-like text: constants as
// their values, other values as their type.
func compact(s schema, depth int) string {
	if ref := str(s["$ref"]); ref != "" {
		return strings.TrimPrefix(ref, "#/components/schemas/")
	}
	if c, ok := s["const"]; ok {
		b, _ := json.Marshal(c)
		return string(b)
	}
	if alts := schemas(s["oneOf"]); len(alts) > 0 {
		parts := make([]string, len(alts))
		for i, a := range alts {
			parts[i] = compact(a, depth)
		}
		return strings.Join(parts, " | ")
	}
	if alts := schemas(s["anyOf"]); len(alts) > 0 {
		parts := make([]string, len(alts))
		for i, a := range alts {
			parts[i] = compact(a, depth)
		}
		return strings.Join(parts, "|")
	}
	props := properties(s)
	if len(props) > 0 && depth < 3 {
		var parts []string
		for _, k := range keyOrder(s) {
			parts = append(parts, fmt.Sprintf("%q:%s", k, compact(props[k], depth+1)))
		}
		return "{" + strings.Join(parts, ",") + "}"
	}
	if types := stringList(s["type"]); slices.Contains(types, "array") {
		if items, ok := s["items"].(map[string]any); ok {
			return "[" + compact(items, depth+1) + ", …]"
		}
	}
	if ap, ok := s["additionalProperties"].(map[string]any); ok {
		return "{string:" + compact(ap, depth+1) + "}"
	}
	return typeName(s)
}

// keyOrder is status, is_active and message first (the envelope), then the
// other keys in name order.
func keyOrder(s schema) []string {
	props := properties(s)
	var out []string
	for _, k := range []string{"status", "is_active", "error", "message"} {
		if _, ok := props[k]; ok {
			out = append(out, k)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(props)) {
		if !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out
}

// typeName is a property's type: string, integer, date-time, boolean,
// string|null, a shared schema's name, a list.
func typeName(s schema) string {
	if ref := str(s["$ref"]); ref != "" {
		return strings.TrimPrefix(ref, "#/components/schemas/")
	}
	if alts := schemas(s["anyOf"]); len(alts) > 0 {
		parts := make([]string, len(alts))
		for i, a := range alts {
			parts[i] = typeName(a)
		}
		return strings.Join(parts, "|")
	}
	types := stringList(s["type"])
	for i, t := range types {
		switch {
		case t == "string" && str(s["format"]) == "binary":
			types[i] = "file"
		case t == "string" && str(s["format"]) != "":
			types[i] = str(s["format"])
		case t == "array":
			item := "string"
			if items, ok := s["items"].(map[string]any); ok {
				item = typeName(items)
			}
			types[i] = "list of " + item + "s"
		}
	}
	if len(types) == 0 {
		return "any"
	}
	return strings.Join(types, "|")
}

// rules lists a property's constraints as the reference writes them.
func rules(s schema, required bool) string {
	var r []string
	if required {
		r = append(r, "required")
	}
	if n, ok := s["minLength"].(float64); ok {
		r = append(r, fmt.Sprintf("≥ %d characters", int(n)))
	}
	if n, ok := s["maxLength"].(float64); ok {
		r = append(r, fmt.Sprintf("≤ %d characters", int(n)))
	}
	if n, ok := s["minimum"].(float64); ok {
		r = append(r, fmt.Sprintf("≥ %d", int(n)))
	}
	if p := str(s["pattern"]); p != "" {
		r = append(r, "`"+p+"`")
	}
	if e := stringList(s["enum"]); len(e) > 0 {
		r = append(r, "one of `"+strings.Join(e, "`, `")+"`")
	}
	if d, ok := s["default"]; ok {
		b, _ := json.Marshal(d)
		r = append(r, "default `"+string(b)+"`")
	}
	return strings.Join(r, "; ")
}

// schemaBlock renders a shared schema (a resource) as a table of its keys.
func schemaBlock(s schema) string {
	var b strings.Builder
	b.WriteString("| key | type | description |\n|---|---|---|\n")
	props := properties(s)
	for _, k := range slices.Sorted(maps.Keys(props)) {
		p := props[k]
		desc := str(p["description"])
		if e := stringList(p["enum"]); len(e) > 0 {
			desc = strings.TrimSpace(desc + " One of `" + strings.Join(e, "`, `") + "`.")
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", k, cell(typeName(p)), cell(desc))
	}
	return b.String()
}

func properties(s schema) map[string]schema {
	raw, _ := s["properties"].(map[string]any)
	out := make(map[string]schema, len(raw))
	for k, v := range raw {
		if m, ok := v.(map[string]any); ok {
			out[k] = m
		}
	}
	return out
}

func schemas(v any) []schema {
	list, _ := v.([]any)
	var out []schema
	for _, x := range list {
		if m, ok := x.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

func stringList(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, x := range v {
			out = append(out, fmt.Sprint(x))
		}
		return out
	}
	return nil
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// cell makes text safe inside a Markdown table cell: one line, pipes
// escaped, and outside code spans <placeholders> written as text rather
// than read as HTML tags.
func cell(s string) string {
	s = strings.ReplaceAll(strings.TrimSpace(s), "\n", " ")
	parts := strings.Split(s, "`")
	for i := 0; i < len(parts); i += 2 {
		parts[i] = strings.NewReplacer("<", "&lt;", ">", "&gt;").Replace(parts[i])
	}
	return strings.ReplaceAll(strings.Join(parts, "`"), "|", `\|`)
}
