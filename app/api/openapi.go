package api

import (
	"github.com/licensor/licensor/app/api/external"
	"github.com/licensor/licensor/app/api/internalapi"
	"github.com/licensor/licensor/app/api/openapi"
)

// Document returns the registry behind GET /api/openapi.json and the API
// reference in docs/api/: this package's operations, the external and
// internal groups', and more, the routes other packages mount under /api
// (the store webhooks). Register serves it; the docs package's test
// writes the reference from it.
func Document(more ...openapi.Operation) *openapi.Registry {
	docs := openapi.NewRegistry()
	docs.Add(healthCheckOperation, openAPIOperation)
	docs.Add(external.Operations()...)
	internalapi.Document(docs)
	docs.Add(more...)
	return docs
}

// The operations of the routes this package serves itself.
var (
	healthCheckOperation = openapi.Operation{
		Method: "GET", Path: "/api/health-check", ID: "healthCheck", Tags: []string{"Public"},
		Summary: "Whether the server and its database are up",
		Responses: map[string]openapi.Response{
			"200": {Description: "Up.", Schema: openapi.Object(map[string]openapi.Schema{
				"status": {"type": "string", "const": "ok"}, "message": {"type": "string", "const": "Platform up & running!"},
			}, "status", "message")},
			"503": {Description: "The database did not answer within 2 s.", Schema: openapi.Object(map[string]openapi.Schema{
				"status": {"type": "string", "const": "unavailable"}, "message": {"type": "string", "const": "Database unavailable."},
			}, "status", "message")},
		},
	}
	openAPIOperation = openapi.Operation{
		Method: "GET", Path: "/api/openapi.json", ID: "openAPIDocument", Tags: []string{"Public"},
		Summary: "This OpenAPI 3.1 document",
		Responses: map[string]openapi.Response{
			"200": {Description: "The document.", Schema: openapi.Schema{"type": "object"}},
			"429": {Description: "Rate limit exceeded.", Schema: openapi.Ref("Error")},
		},
	}
)
