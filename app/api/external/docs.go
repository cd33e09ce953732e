package external

import (
	"github.com/licensor/licensor/app/api/openapi"
)

// operations describes the external API for the OpenAPI document (api.md
// §10), one entry per modern route of routes.go, legacy aliases listed on
// their modern twin.
func operations() []openapi.Operation {
	str := openapi.String
	nullStr := openapi.Nullable(openapi.Schema{"type": "string"})
	ts := openapi.Nullable(openapi.Schema{"type": "string", "format": "date-time"})
	flag := func(v bool) openapi.Schema { return openapi.Schema{"type": "boolean", "const": v} }
	statusCode := openapi.Schema{"type": "string", "enum": []string{
		"PRODUCT_NOT_FOUND", "LICENSE_INVALID", "LICENSE_BLOCKED", "LICENSE_EXPIRED", "LICENSE_USES_EXHAUSTED",
		"ACTIVATED_MAXIMUM_ALLOWED_PRODUCT_INSTANCES", "DOMAIN_NOT_ALLOWED", "IP_NOT_ALLOWED", "LICENSE_DEACTIVATED",
	}}
	// failure is a business failure: status false, a message and a
	// status_code, plus the endpoint's own keys.
	failure := func(extra map[string]openapi.Schema) openapi.Schema {
		props := map[string]openapi.Schema{
			"status": flag(false), "is_active": flag(false), "message": str(""), "status_code": statusCode,
		}
		req := []string{"status", "is_active", "message", "status_code"}
		for k, v := range extra {
			props[k] = v
			req = append(req, k)
		}
		return openapi.Object(props, req...)
	}
	success := func(message string, extra map[string]openapi.Schema) openapi.Schema {
		props := map[string]openapi.Schema{
			"status": flag(true), "is_active": flag(true), "message": {"type": "string", "const": message},
		}
		req := []string{"status", "is_active", "message"}
		for k, v := range extra {
			props[k] = v
			req = append(req, k)
		}
		return openapi.Object(props, req...)
	}
	// common are the answers of the request pipeline (api.md §2.3).
	common := func(rs map[string]openapi.Response) map[string]openapi.Response {
		out := map[string]openapi.Response{
			"400": {Description: "Missing API key, invalid X-API-IP / X-API-URL header, or unreadable body.", Schema: openapi.Ref("Error")},
			"401": {Description: "Invalid API key.", Schema: openapi.Ref("Error")},
			"403": {Description: "Scope missing, or caller IP / domain blacklisted.", Schema: openapi.Ref("Error")},
			"413": {Description: "Body larger than the configured limit.", Schema: openapi.Ref("Error")},
			"422": {Description: "Field validation failed.", Schema: openapi.Ref("ValidationError")},
			"429": {Description: "Rate limit exceeded.", Schema: openapi.Ref("Error"), Headers: map[string]string{
				"Retry-After": "Seconds until the window ends.", "X-RateLimit-Limit": "Requests per minute.", "X-RateLimit-Remaining": "Requests left in this minute.",
			}},
		}
		for k, v := range rs {
			out[k] = v
		}
		return out
	}
	headers := []openapi.Parameter{
		{Name: "X-API-URL", In: "header", Description: "URL (or bare host) of the calling installation; legacy LB-URL."},
		{Name: "X-API-IP", In: "header", Description: "IP of the calling installation; legacy LB-IP."},
		{Name: "X-API-LANGUAGE", In: "header", Description: "Language of messages (en); legacy LB-LANG."},
	}
	proof := map[string]openapi.Schema{
		"product_id":   str("The product's reference id."),
		"license_data": str("The token answered by activate."),
		"license_file": str("Legacy name of license_data, read when license_data is absent."),
		"license_code": str("The license code, when no token is sent."),
		"client_name":  str("The buyer / client id the license is issued to."),
	}
	tags := []string{"External"}

	connection := func(method string) openapi.Operation {
		return openapi.Operation{
			Method: method, Path: "/api/external/connection-check", ID: "externalConnectionCheck" + method,
			Summary: "Check the connection and the API key", Tags: tags, Scope: scopeConnection, Parameters: headers,
			Responses:   common(map[string]openapi.Response{"200": {Description: "Connection established.", Schema: success("Connection established.", nil)}}),
			LegacyPaths: []string{"/api/check_connection_ext"},
		}
	}
	licenseTimes := openapi.Object(map[string]openapi.Schema{
		"license_data": str("Activation token: send it back to verify and deactivate."),
		"expires_at":   ts, "updates_until": ts, "support_until": ts,
	}, "license_data", "expires_at", "updates_until", "support_until")
	activateFailure := failure(map[string]openapi.Schema{"lic_response": {"type": "null"}, "data": {"type": "null"}})
	checkData := openapi.Object(map[string]openapi.Schema{
		"license_code": str(""), "product_id": str("Reference id."), "product_name": str(""), "type": nullStr,
		"status":     {"type": "string", "enum": []string{"valid", "expired", "blocked"}},
		"expires_at": ts, "updates_until": ts, "support_until": ts,
		"uses": openapi.Nullable(openapi.Schema{"type": "integer"}), "uses_left": openapi.Nullable(openapi.Schema{"type": "integer"}),
		"parallel_uses": openapi.Nullable(openapi.Schema{"type": "integer"}), "parallel_uses_left": openapi.Nullable(openapi.Schema{"type": "integer"}),
		"active_activations": {"type": "integer"},
	})

	return []openapi.Operation{
		connection("GET"),
		connection("POST"),
		{
			Method: "POST", Path: "/api/external/license/activate", ID: "externalActivate",
			Summary: "Activate a license on the calling installation", Tags: tags, Scope: scopeActivate, Parameters: headers,
			Description: "Business failures answer HTTP 200 with status false. lic_response and data.license_data hold the same token.",
			Body: openapi.Object(map[string]openapi.Schema{
				"product_id":   {"type": "string", "maxLength": productIDMax, "description": "The product's reference id."},
				"license_code": {"type": "string", "maxLength": licenseCodeMax},
				"client_name":  {"type": "string", "maxLength": clientNameMax},
				"verify_type":  {"type": "string", "enum": verifyTypes, "default": "non_envato"},
			}, "product_id", "license_code"),
			Responses: common(map[string]openapi.Response{
				"200": {Description: "Activated, or a business failure (status false).", Schema: openapi.Schema{"oneOf": []openapi.Schema{
					success("Activated.", map[string]openapi.Schema{"lic_response": str("The activation token."), "data": licenseTimes}),
					activateFailure,
				}}},
				"404": {Description: "Product not found.", Schema: activateFailure},
				"500": {Description: "Could not activate the license.", Schema: openapi.Ref("Error")},
			}),
			LegacyPaths: []string{"/api/activate_license"},
		},
		{
			Method: "POST", Path: "/api/external/license/verify", ID: "externalVerify",
			Summary: "Verify an activation", Tags: tags, Scope: scopeVerify, Parameters: headers,
			Description: "By the activation token (license_data), else by license code from the activation's host.",
			Body:        openapi.Object(proof, "product_id"),
			Responses: common(map[string]openapi.Response{"200": {Description: "Verified, or a business failure (status false).", Schema: openapi.Schema{"oneOf": []openapi.Schema{
				success("Verified.", map[string]openapi.Schema{"data": {"type": "null"}}),
				failure(map[string]openapi.Schema{"data": {"type": "null"}}),
			}}}}),
			LegacyPaths: []string{"/api/verify_license"},
		},
		{
			Method: "POST", Path: "/api/external/license/deactivate", ID: "externalDeactivate",
			Summary: "Deactivate an activation, freeing its slot", Tags: tags, Scope: scopeDeactivate, Parameters: headers,
			Description: "Works for inactive products and blocked or expired licenses. is_active is true on success.",
			Body:        openapi.Object(proof, "product_id"),
			Responses: common(map[string]openapi.Response{"200": {Description: "Deactivated, or a business failure (status false).", Schema: openapi.Schema{"oneOf": []openapi.Schema{
				success("Deactivated.", nil), failure(nil),
			}}}}),
			LegacyPaths: []string{"/api/deactivate_license"},
		},
		{
			Method: "POST", Path: "/api/external/license/check", ID: "externalLicenseCheck",
			Summary: "Report a license's state", Tags: tags, Scope: scopeCheck, Parameters: headers,
			Body: openapi.Object(map[string]openapi.Schema{
				"license_code":  str("Required unless purchase_code is sent; wins when both are."),
				"purchase_code": str("Alternative name of license_code."),
				"product_id":    str("When sent, the license must belong to this product."),
				"verify_type":   str("Order-sync plugin to ask when no local license matches."),
			}),
			Responses: common(map[string]openapi.Response{
				"200": {Description: "The license, usable (status true) or blocked / expired (status false).", Schema: openapi.Schema{"oneOf": []openapi.Schema{
					success("Verified.", map[string]openapi.Schema{"data": checkData}),
					failure(map[string]openapi.Schema{"data": checkData}),
				}}},
				"400": {Description: "License is invalid (or a pipeline failure).", Schema: failure(nil)},
				"404": {Description: "Product not found.", Schema: failure(nil)},
			}),
			LegacyPaths: []string{"/api/check_license"},
		},
		{
			Method: "GET", Path: "/api/external/public-keys", ID: "externalPublicKeys",
			Summary: "Public keys that verify activation tokens and license files", Tags: tags,
			Responses: map[string]openapi.Response{
				"200": {Description: "Every signing key that still verifies, current first.", Schema: openapi.Object(map[string]openapi.Schema{
					"data": {"type": "array", "items": openapi.Object(map[string]openapi.Schema{
						"kid": str("First 16 hex characters of SHA-256 of the raw public key."), "alg": {"type": "string", "const": "ed25519"},
						"public_key": str("Base64 of the 32-byte key."), "created_at": {"type": "string", "format": "date-time"}, "retired_at": ts,
					}, "kid", "alg", "public_key", "created_at", "retired_at")},
				}, "data")},
				"429": {Description: "Rate limit exceeded.", Schema: openapi.Ref("Error")},
			},
		},
	}
}
