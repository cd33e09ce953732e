package external

import (
	"github.com/licensor/licensor/app/api/openapi"
	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/licensing"
)

// Operations describes the external API for the OpenAPI document
// (docs/api/README.md#openapi-document), one entry per modern route of
// routes.go, legacy aliases listed on their modern twin.
func Operations() []openapi.Operation {
	str := openapi.String
	nullStr := openapi.Nullable(openapi.Schema{"type": "string"})
	ts := openapi.Nullable(openapi.Schema{"type": "string", "format": "date-time"})
	flag := func(v bool) openapi.Schema { return openapi.Schema{"type": "boolean", "const": v} }
	statusCode := openapi.Schema{"type": "string", "enum": []string{
		"PRODUCT_NOT_FOUND", "LICENSE_INVALID", "LICENSE_BLOCKED", "LICENSE_EXPIRED", "LICENSE_USES_EXHAUSTED",
		"ACTIVATED_MAXIMUM_ALLOWED_PRODUCT_INSTANCES", "DOMAIN_NOT_ALLOWED", "IP_NOT_ALLOWED", "LICENSE_DEACTIVATED",
		licensing.CodeActivationReleased, licensing.CodeLicenseNotFloating,
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
	// common are the answers of the request pipeline (docs/api/authentication.md#request-pipeline).
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
		"entitlements":          {"type": "array", "items": openapi.Schema{"type": "string"}, "description": "The license's entitlements, when it carries some (modern path only)."},
		"expiry_start":          {"type": "string", "enum": catalog.ExpiryStarts, "description": "While the license's expiry clock has not started: when it will (modern path only; docs/licensing.md#expiry-clock)."},
		"expiry_days":           {"type": "integer", "description": "While the license's expiry clock has not started: the days it will run (modern path only)."},
		"heartbeat_interval":    {"type": "integer", "description": "Seconds between heartbeats, when the activation must send them (modern path only)."},
		"next_heartbeat_before": {"type": "string", "format": "date-time", "description": "The first heartbeat's deadline (interval + tolerance); a floating seat's lease (modern path only)."},
	}, "license_data", "expires_at", "updates_until", "support_until")
	verifyData := openapi.Schema{"oneOf": []openapi.Schema{{"type": "null"}, openapi.Object(map[string]openapi.Schema{
		"entitlements": {"type": "array", "items": openapi.Schema{"type": "string"}, "description": "The license's entitlements (modern path only; data is null when it carries none and has no expiry clock)."},
		"expires_at":   {"type": "string", "format": "date-time", "description": "When the license has an expiry clock (expiry_days): its expiry, started by this verify when the clock waited for the first one (modern path only)."},
	}, "entitlements")}}
	activateFailure := failure(map[string]openapi.Schema{"lic_response": {"type": "null"}, "data": {"type": "null"}})
	checkData := openapi.Object(map[string]openapi.Schema{
		"license_code": str(""), "product_id": str("Reference id."), "product_name": str(""), "type": nullStr,
		"status":     {"type": "string", "enum": []string{"valid", "expired", "blocked"}},
		"expires_at": ts, "updates_until": ts, "support_until": ts,
		"uses": openapi.Nullable(openapi.Schema{"type": "integer"}), "uses_left": openapi.Nullable(openapi.Schema{"type": "integer"}),
		"parallel_uses": openapi.Nullable(openapi.Schema{"type": "integer"}), "parallel_uses_left": openapi.Nullable(openapi.Schema{"type": "integer"}),
		"active_activations": {"type": "integer"},
	})

	checksum := openapi.Object(map[string]openapi.Schema{"algo": {"type": "string", "const": "sha256"}, "value": str("Hex SHA-256 of the main file.")}, "algo", "value")
	signature := openapi.Object(map[string]openapi.Schema{
		"algo": {"type": "string", "const": "ed25519"}, "key_id": str("Key id of the trusted release key."),
		"value": str("Base64 of the 64-byte signature."), "manifest": str("The signed manifest (docs/api/signing.md#release-integrity)."),
	}, "algo", "key_id", "value", "manifest")
	day := openapi.Schema{"type": "string", "format": "date"}
	fileParams := append([]openapi.Parameter{
		{Name: "version_id", In: "path", Required: true, Description: "The version's id (update_id)."},
		{Name: "type", In: "path", Required: true, Description: "main, sql, or a file type a plugin registers."},
	}, headers...)
	fileHeaders := map[string]string{
		"Content-Disposition": "attachment; filename=<type>_<product reference>_<version>.<ext>", "Accept-Ranges": "bytes",
		"ETag": "The file's SHA-256.", "X-LM-Checksum-SHA256": "The main file's SHA-256.", "Content-Transfer-Encoding": "Binary",
	}
	emptyAnswer := func(d string) openapi.Response { return openapi.Response{Description: d} }
	linkError := func(d string) openapi.Response { return openapi.Response{Description: d, Schema: openapi.Ref("Error")} }

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
				"verify_type": {"type": "string", "default": "non_envato", "description": "non_envato, envato, gumroad, or the verify_type an enabled " +
					"order-sync plugin serves. A code with no local license is then checked with that plugin's marketplace (10 s) and, accepted, becomes a local license."},
			}, "product_id", "license_code"),
			Responses: common(map[string]openapi.Response{
				"200": {Description: "Activated, or a business failure (status false).", Schema: openapi.Schema{"oneOf": []openapi.Schema{
					success("Activated.", map[string]openapi.Schema{"lic_response": str("The activation token."), "data": licenseTimes}),
					activateFailure,
				}}},
				"400": {Description: "The marketplace refused the code, or the product is not configured for its verification (or a pipeline failure).", Schema: activateFailure},
				"404": {Description: "Product not found.", Schema: activateFailure},
				"500": {Description: "Could not activate the license.", Schema: openapi.Ref("Error")},
				"503": {Description: "The license could not be checked with the marketplace.", Schema: activateFailure},
			}),
			LegacyPaths: []string{"/api/activate_license"},
		},
		{
			Method: "POST", Path: "/api/external/license/verify", ID: "externalVerify",
			Summary: "Verify an activation", Tags: tags, Scope: scopeVerify, Parameters: headers,
			Description: "By the activation token (license_data), else by license code from the activation's host.",
			Body:        openapi.Object(proof, "product_id"),
			Responses: common(map[string]openapi.Response{"200": {Description: "Verified, or a business failure (status false).", Schema: openapi.Schema{"oneOf": []openapi.Schema{
				success("Verified.", map[string]openapi.Schema{"data": verifyData}),
				success(licensing.MessageInGrace, map[string]openapi.Schema{
					"status_code": {"type": "string", "const": licensing.CodeLicenseInGrace},
					"grace_until": {"type": "string", "format": "date-time", "description": "End of the grace period (modern path only; docs/api/external.md#grace-period)."},
					"data":        verifyData,
				}),
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
			Method: "POST", Path: "/api/external/license/heartbeat", ID: "externalHeartbeat",
			Summary: "Keep an activation alive", Tags: tags, Scope: scopeVerify, Parameters: headers,
			Description: "By the activation token only; no legacy path. Written in batches, never on the request path. " +
				"ACTIVATION_RELEASED: the activation missed its heartbeat and was released; activate again (docs/licensing.md#heartbeats-and-automatic-release).",
			Body: openapi.Object(map[string]openapi.Schema{
				"product_id": str("The product's reference id."), "license_data": str("The token answered by activate or checkout."),
				"client_name": str("The buyer / client id, when the activation was made with one."),
			}, "product_id", "license_data"),
			Responses: common(map[string]openapi.Response{"200": {Description: "Received, or a business failure (status false).", Schema: openapi.Schema{"oneOf": []openapi.Schema{
				success(licensing.MessageHeartbeat, map[string]openapi.Schema{"data": openapi.Object(map[string]openapi.Schema{
					"heartbeat_interval":    openapi.Nullable(openapi.Schema{"type": "integer", "description": "Seconds; null when no heartbeats are asked."}),
					"next_heartbeat_before": openapi.Nullable(openapi.Schema{"type": "string", "format": "date-time", "description": "Deadline of the next heartbeat (interval + tolerance from now)."}),
				}, "heartbeat_interval", "next_heartbeat_before")}),
				failure(map[string]openapi.Schema{"data": {"type": "null"}}),
			}}}}),
		},
		{
			Method: "POST", Path: "/api/external/license/checkout", ID: "externalCheckout",
			Summary: "Check out a seat of a floating license", Tags: tags, Scope: scopeActivate, Parameters: headers,
			Description: "Activate for a floating license (docs/licensing.md#floating-licenses): the seat is held while heartbeats keep it (next_heartbeat_before is its lease) " +
				"or until checkin. Refused with ACTIVATED_MAXIMUM_ALLOWED_PRODUCT_INSTANCES while every seat is live, LICENSE_NOT_FLOATING for another license.",
			Body: openapi.Object(map[string]openapi.Schema{
				"product_id":   {"type": "string", "maxLength": productIDMax, "description": "The product's reference id."},
				"license_code": {"type": "string", "maxLength": licenseCodeMax},
				"client_name":  {"type": "string", "maxLength": clientNameMax},
			}, "product_id", "license_code"),
			Responses: common(map[string]openapi.Response{
				"200": {Description: "Checked out, or a business failure (status false).", Schema: openapi.Schema{"oneOf": []openapi.Schema{
					success(licensing.MessageCheckedOut, map[string]openapi.Schema{"lic_response": str("The activation token."), "data": licenseTimes}),
					activateFailure,
				}}},
				"404": {Description: "Product not found.", Schema: activateFailure},
				"500": {Description: "Could not activate the license.", Schema: openapi.Ref("Error")},
			}),
		},
		{
			Method: "POST", Path: "/api/external/license/checkin", ID: "externalCheckin",
			Summary: "Check a floating seat back in", Tags: tags, Scope: scopeDeactivate, Parameters: headers,
			Description: "By the token checkout answered: the seat is free at once (deactivation_reason checked_in).",
			Body: openapi.Object(map[string]openapi.Schema{
				"product_id": str("The product's reference id."), "license_data": str("The token answered by checkout."),
				"client_name": str("The buyer / client id, when the seat was checked out with one."),
			}, "product_id", "license_data"),
			Responses: common(map[string]openapi.Response{"200": {Description: "Checked in, or a business failure (status false).", Schema: openapi.Schema{"oneOf": []openapi.Schema{
				success(licensing.MessageCheckedIn, nil), failure(nil),
			}}}}),
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
				"200": {Description: "The license, usable (status true) or blocked / expired (status false); or the sale a marketplace plugin found (its fields, no personal data).", Schema: openapi.Schema{"oneOf": []openapi.Schema{
					success("Verified.", map[string]openapi.Schema{"data": checkData}),
					failure(map[string]openapi.Schema{"data": checkData}),
					success("Verified.", map[string]openapi.Schema{"data": {"type": "object", "additionalProperties": openapi.Schema{"type": "string"}}}),
				}}},
				"400": {Description: "License is invalid, or the product is not configured for the marketplace's verification (or a pipeline failure).", Schema: failure(nil)},
				"404": {Description: "Product not found.", Schema: failure(nil)},
				"503": {Description: "The license could not be checked with the marketplace.", Schema: failure(nil)},
			}),
			LegacyPaths: []string{"/api/check_license"},
		},
		{
			Method: "POST", Path: "/api/external/update/check", ID: "externalUpdateCheck",
			Summary: "Ask whether a newer version exists", Tags: tags, Scope: scopeUpdate, Parameters: headers,
			Description: "Offers the newest active version, or the next one when the product's serve_latest_updates is off. Versions compare as PHP's version_compare. signature is added when release integrity is on and a trusted key signed the version.",
			Body: openapi.Object(map[string]openapi.Schema{
				"product_id": str("The product's reference id."), "current_version": {"type": "string", "maxLength": currentVersionMax},
			}, "product_id", "current_version"),
			Responses: common(map[string]openapi.Response{"200": {Description: "An update, none, or product not found (status false).", Schema: openapi.Schema{"oneOf": []openapi.Schema{
				success("A new update is available.", map[string]openapi.Schema{
					"update_available": flag(true), "version": str(""), "release_date": day, "released_at": day,
					"summary": str(""), "changelog": str("HTML."), "update_id": str("The version id the download endpoints take."),
					"has_sql": {"type": "boolean"}, "file_size": {"type": "integer"}, "checksum": checksum, "signature": signature,
				}),
				success("You are using the latest version.", map[string]openapi.Schema{"update_available": flag(false), "version": {"type": "null"}}),
				openapi.Object(map[string]openapi.Schema{"status": flag(false), "is_active": flag(false), "message": {"type": "string", "const": "Product not found."},
					"update_available": flag(false), "version": {"type": "null"}}),
			}}}}),
			LegacyPaths: []string{"/api/check_update"},
		},
		{
			Method: "POST", Path: "/api/external/update/latest", ID: "externalUpdateLatest",
			Summary: "The product's newest version", Tags: tags, Scope: scopeLatest, Parameters: headers,
			Body: openapi.Object(map[string]openapi.Schema{"product_id": str("The product's reference id.")}, "product_id"),
			Responses: common(map[string]openapi.Response{
				"200": {Description: "Latest version found.", Schema: success("Latest version found.", map[string]openapi.Schema{
					"product_name": str(""), "latest_version": str(""), "release_date": day, "summary": nullStr,
					"data": openapi.Object(map[string]openapi.Schema{
						"id": str(""), "update_id": str(""), "version_id": str(""), "product_id": str("Reference id."), "version": str(""),
						"released_at": day, "release_date": day, "summary": nullStr, "changelog": nullStr, "has_sql": {"type": "boolean"},
						"file_size": {"type": "integer"}, "checksum": checksum, "signature": signature,
					}),
				})},
				"404": {Description: "Product not found, or no active version.", Schema: openapi.Ref("Error")},
			}),
			LegacyPaths: []string{"/api/latest_version"},
		},
		{
			Method: "POST", Path: "/api/external/update/{version_id}/download/{type}", ID: "externalUpdateDownload",
			Summary: "Download a version's file", Tags: tags, Scope: scopeDownload, Parameters: append(fileParams,
				openapi.Parameter{Name: "Range", In: "header", Description: "bytes=a-b, bytes=a- or bytes=-n: 206 with Content-Range; past the end: 416."}),
			Description: "When the product requires a license for updates, a token (license_data / license_file) or license_code + client_name must prove a valid license whose updates period has not ended; any failure is an empty 401. Every attempt is logged. Multipart bodies are accepted.",
			Body:        openapi.Object(proof),
			Responses: common(map[string]openapi.Response{
				"200": {Description: "The file, streamed.", ContentType: "application/octet-stream", Schema: openapi.Schema{"type": "string", "format": "binary"}, Headers: fileHeaders},
				"206": {Description: "The requested range.", ContentType: "application/octet-stream", Schema: openapi.Schema{"type": "string", "format": "binary"},
					Headers: map[string]string{"Content-Range": "bytes a-b/size"}},
				"401": emptyAnswer("License check failed (empty body), or an invalid API key (JSON)."),
				"404": emptyAnswer("Version, product or file not found (empty body)."),
				"416": emptyAnswer("Range not satisfiable."),
			}),
			LegacyPaths: []string{"/api/download_update/{type}/{version_id}", "/api/download_update/{version_id}", "/api/download_update"},
		},
		{
			Method: "GET", Path: "/api/external/update/{version_id}/download/{type}/size", ID: "externalUpdateSize",
			Summary: "A version file's size", Tags: tags, Scope: scopeDownload, Parameters: fileParams,
			Description: "HEAD answers with no body and Content-Length of the file; GET (and POST on the legacy paths) answers JSON with X-File-Size.",
			Responses: common(map[string]openapi.Response{
				"200": {Description: "The size.", Schema: openapi.Object(map[string]openapi.Schema{"status": flag(true), "is_active": flag(true), "size": {"type": "integer"}}, "status", "is_active", "size"),
					Headers: map[string]string{"X-File-Size": "The file's bytes."}},
				"404": emptyAnswer("Version, product or file not found (empty body)."),
			}),
			LegacyPaths: []string{"/api/get_update_size/{type}/{version_id}", "/api/get_update_size/{version_id}", "/api/get_update_size"},
		},
		{
			Method: "GET", Path: "/api/download/{token}", ID: "downloadLink",
			Summary: "Download through a download link", Tags: tags,
			Parameters: []openapi.Parameter{
				{Name: "token", In: "path", Required: true, Description: "The link's token (internal API download-tokens)."},
				{Name: "Range", In: "header", Description: "Resume: a request starting after byte 0 is not another download, but its bytes count toward the cap (max_downloads times the file size); HEAD is not counted."},
			},
			Responses: map[string]openapi.Response{
				"200": {Description: "The file, streamed.", ContentType: "application/octet-stream", Schema: openapi.Schema{"type": "string", "format": "binary"}, Headers: fileHeaders},
				"206": {Description: "The requested range.", ContentType: "application/octet-stream", Schema: openapi.Schema{"type": "string", "format": "binary"}},
				"403": linkError("Download limit reached."),
				"404": linkError("Download link not found."),
				"410": linkError("Download link has expired."),
				"416": emptyAnswer("Range not satisfiable."),
				"429": linkError("Rate limit exceeded."),
			},
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
