package apikeys

// Key types.
const (
	TypeExternal = "external"
	TypeInternal = "internal"
)

// ExternalScopes are the scopes an external key can hold (docs/api/authentication.md#scopes).
var ExternalScopes = []string{
	"connection:check",
	"license:activate", "license:verify", "license:deactivate", "license:check",
	"update:check", "update:latest", "update:download", "update:list",
}

// InternalScopes are the scopes an internal key can hold (docs/api/authentication.md#scopes).
var InternalScopes = []string{
	"connection:check",
	"products:list", "products:read", "products:create", "products:update", "products:delete", "products:activate", "products:deactivate",
	"versions:list", "versions:read", "versions:create", "versions:update", "versions:delete", "versions:download",
	"licenses:list", "licenses:read", "licenses:create", "licenses:update", "licenses:delete", "licenses:block", "licenses:unblock",
	"activations:list", "activations:read", "activations:activate", "activations:deactivate",
	"customers:list", "customers:read", "customers:create", "customers:update", "customers:delete",
}

// ScopesFor returns every scope valid for a key type, or nil for an unknown type.
func ScopesFor(keyType string) []string {
	switch keyType {
	case TypeExternal:
		return append([]string(nil), ExternalScopes...)
	case TypeInternal:
		return append([]string(nil), InternalScopes...)
	}
	return nil
}
