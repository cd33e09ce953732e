package internalapi

import (
	"github.com/licensor/licensor/app/api/openapi"
	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/licensing"
)

// document adds the internal API to the OpenAPI document (docs/api/README.md#openapi-document): the
// resources of docs/api/resources.md as shared schemas, then one operation per modern route of
// routes.go, each legacy call listed on its modern twin.
func document(docs *openapi.Registry, calls []legacyCall) {
	str := openapi.String
	text := openapi.Nullable(openapi.Schema{"type": "string"})
	count := openapi.Nullable(openapi.Schema{"type": "integer", "minimum": 0})
	flag := openapi.Schema{"type": "boolean"}
	ts := openapi.Schema{"type": "string", "format": "date-time"}
	tsOrNull := openapi.Nullable(ts)
	list := openapi.Schema{"type": "array", "items": openapi.Schema{"type": "string"}}
	id := openapi.Schema{"type": "integer"}
	interval := openapi.Nullable(openapi.Schema{"type": "integer", "minimum": catalog.HeartbeatIntervalMin, "maximum": catalog.HeartbeatIntervalMax})
	missed := openapi.Nullable(openapi.Schema{"type": "string", "enum": []string{"release", "keep"}})
	// described copies a schema with a description.
	described := func(s openapi.Schema, d string) openapi.Schema {
		out := openapi.Schema{"description": d}
		for k, v := range s {
			out[k] = v
		}
		return out
	}
	textMax := func(n int, d string) openapi.Schema {
		return openapi.Nullable(openapi.Schema{"type": "string", "maxLength": n, "description": d})
	}
	expiryStart := func(d string) openapi.Schema {
		return openapi.Schema{"type": "string", "enum": catalog.ExpiryStarts, "description": d}
	}
	required := func(props map[string]openapi.Schema) openapi.Schema {
		keys := make([]string, 0, len(props))
		for k := range props {
			keys = append(keys, k)
		}
		return openapi.Object(props, keys...)
	}

	docs.AddSchema("Product", required(map[string]openapi.Schema{
		"id": id, "name": str(""), "reference_id": str("Unique, case-insensitive; cannot change."), "envato_id": text, "description": text,
		"license_update":       described(flag, "A valid license is required to download updates."),
		"serve_latest_updates": described(flag, "Update check offers the newest version (true) or the next one (false)."),
		"is_active":            described(flag, "An inactive product answers not found to activate, verify, license check and updates."),
		"default_license_type": text, "default_uses": count, "default_parallel_uses": count, "default_expiry_days": count,
		"default_updates_until_days": count, "default_support_until_days": count, "default_comments": text,
		"default_expiry_start": expiryStart("When a new license's expiry_days start counting (docs/licensing.md#expiry-clock)."),
		"grace_days":           described(count, "Days after a license's expires_at during which verify answers LICENSE_IN_GRACE; null or 0: none."),
		"entitlements":         described(list, "Feature names its licenses may carry (docs/licensing.md#entitlements)."),
		"default_entitlements": described(list, "The entitlements a new license gets; a subset of entitlements."),
		"heartbeat_interval":   described(interval, "Seconds between the heartbeats its activations must send; null: none asked (docs/licensing.md#heartbeats-and-automatic-release)."),
		"heartbeat_tolerance":  described(id, "Seconds a heartbeat may be late before the activation is released or marked."),
		"heartbeat_missed":     openapi.Schema{"type": "string", "enum": []string{"release", "keep"}, "description": "A missed heartbeat frees the slot (release) or only marks the activation (keep)."},
		"default_floating":     described(flag, "New licenses are floating unless created with floating (docs/licensing.md#floating-licenses)."),
		"latest_version":       described(text, "The newest active version, or null."), "created_at": ts, "updated_at": ts,
	}))
	docs.AddSchema("Version", openapi.Object(map[string]openapi.Schema{
		"version_id": str(""), "product_reference_id": str(""), "version": str(""), "released_at": ts,
		"summary": text, "changelog": described(text, "Sanitised HTML."),
		"main_file": described(text, "The main file's name as uploaded."), "sql_file": described(text, "The SQL file's name as uploaded, or null."),
		"is_active": described(flag, "Published."), "has_sql": flag,
		"file_size":  openapi.Schema{"type": "integer", "description": "The main file's bytes; omitted while unknown."},
		"checksum":   openapi.Schema{"type": "object", "description": `{"algo":"sha256","value":<hex>} of the main file; omitted while unknown.`},
		"signature":  openapi.Nullable(openapi.Schema{"type": "object", "description": "The release signature (algo, key_id, value, manifest) when signed by a trusted key."}),
		"created_at": ts, "updated_at": ts,
	}, "version_id", "product_reference_id", "version", "released_at", "summary", "changelog", "main_file", "sql_file", "is_active", "has_sql", "created_at", "updated_at"))
	docs.AddSchema("License", required(map[string]openapi.Schema{
		"id": id, "product_reference_id": str(""), "product_name": str(""), "license_code": str(""), "type": text,
		"is_envato": flag, "invoice": text, "customer_id": described(text, "The client id of the customer it belongs to, or a buyer name."),
		"email": text, "comments": text, "ips": described(list, "Licensed IPs and CIDR ranges; empty: any."),
		"domains":       described(list, "Licensed hosts and *.wildcards; empty: any."),
		"entitlements":  described(list, "The product's feature names this license unlocks (docs/licensing.md#entitlements)."),
		"support_until": tsOrNull, "updates_until": described(tsOrNull, "Downloads need it null or later than now."),
		"expires_at": tsOrNull, "expiry_days": described(count, "Days from the expiry clock's start to expires_at, while expires_at is null."),
		"expiry_start":       expiryStart("When the expiry clock starts: at creation, first activation or first verify (docs/licensing.md#expiry-clock)."),
		"expiry_started_at":  described(tsOrNull, "When the expiry clock started; null while it waits or when expires_at was set by hand."),
		"uses":               described(count, "Successful activations allowed ever; null: unlimited."),
		"parallel_uses":      described(count, "Active activations allowed at once; null: unlimited; 0: none. Floating: live seats."),
		"floating":           described(flag, "parallel_uses counts live seats, held only while heartbeats keep them (docs/licensing.md#floating-licenses)."),
		"heartbeat_interval": described(interval, "Overrides the product's heartbeat interval; null: the product's."),
		"heartbeat_missed":   described(missed, "Overrides the product's heartbeat_missed; null: the product's."),
		"is_valid":           {"type": "boolean", "description": "false means blocked."},
		"status":             openapi.Schema{"type": "string", "enum": []string{"valid", "expired", "blocked"}, "description": "blocked when not valid, else expired when expires_at ≤ now, else valid."},
		"active_activations": id, "total_activations": described(id, "Successful activations ever."),
		"uses_left":          described(count, "uses − total_activations; null when uses is null."),
		"parallel_uses_left": described(count, "parallel_uses − active_activations, never below 0; null when unlimited."),
		"created_at":         ts, "updated_at": ts,
	}))
	docs.AddSchema("Activation", required(map[string]openapi.Schema{
		"id": id, "product_reference_id": str(""), "license_id": openapi.Nullable(id), "license_code": str(""),
		"client_name": text, "url": described(text, "Scheme, host and path of the caller URL."), "domain": described(text, "The caller's normalised host."),
		"ip": text, "user_agent": text,
		"is_valid":       described(flag, "false: a recorded failed attempt."),
		"is_active":      described(flag, "The row holds a slot."),
		"failure_reason": described(text, "The status_code of a failed attempt."), "activated_at": ts, "deactivated_at": tsOrNull, "last_verified_at": tsOrNull,
		"deactivation_reason": described(text, "client, customer, admin, blocked, replaced, released (missed its heartbeat) or checked_in (a floating seat given back)."),
		"last_heartbeat_at":   described(tsOrNull, "The latest heartbeat or verify (written in batches)."),
		"heartbeat_due_at":    described(tsOrNull, "When an active activation under a heartbeat policy is released (or marked) without a heartbeat."),
		"heartbeat_missed_at": described(tsOrNull, "The deadline a kept activation missed; cleared by its next heartbeat."),
		"created_at":          ts, "updated_at": ts,
	}))
	docs.AddSchema("Customer", required(map[string]openapi.Schema{
		"id": id, "name": str(""), "email": str(""), "client_id": str("Unique, case-insensitive; licenses whose customer_id equals it are the customer's."), "avatar_url": text,
		"confirmed_at": tsOrNull, "last_login_at": tsOrNull, "created_at": ts, "updated_at": ts,
	}))
	pageLink := openapi.Object(map[string]openapi.Schema{"url": text, "label": str(""), "active": flag}, "url", "label", "active")
	page := func(item string) openapi.Schema {
		return openapi.Object(map[string]openapi.Schema{
			"data":  {"type": "array", "items": openapi.Ref(item)},
			"links": openapi.Object(map[string]openapi.Schema{"first": str(""), "last": str(""), "prev": text, "next": text}, "first", "last", "prev", "next"),
			"meta": openapi.Object(map[string]openapi.Schema{
				"current_page": id, "from": openapi.Nullable(id), "last_page": id, "links": {"type": "array", "items": pageLink},
				"path": str(""), "per_page": id, "to": openapi.Nullable(id), "total": id,
			}, "current_page", "from", "last_page", "links", "path", "per_page", "to", "total"),
		}, "data", "links", "meta")
	}
	data := func(item string) openapi.Schema {
		return openapi.Object(map[string]openapi.Schema{"data": openapi.Ref(item)}, "data")
	}
	action := func(message string) openapi.Schema {
		return openapi.Object(map[string]openapi.Schema{
			"status": {"type": "boolean", "const": true}, "message": {"type": "string", "const": message},
		}, "status", "message")
	}

	// Answers every operation shares: the pipeline's (docs/api/authentication.md#request-pipeline).
	common := func(rs map[string]openapi.Response) map[string]openapi.Response {
		out := map[string]openapi.Response{
			"400": {Description: "Missing API key, invalid X-API-IP / X-API-URL header, or unreadable body.", Schema: openapi.Ref("Error")},
			"401": {Description: "Invalid API key (unknown, revoked, expired, or an external key).", Schema: openapi.Ref("Error")},
			"403": {Description: "The key lacks the scope.", Schema: openapi.Ref("Error")},
			"413": {Description: "Body larger than the configured limit.", Schema: openapi.Ref("Error")},
			"429": {Description: "Rate limit exceeded.", Schema: openapi.Ref("Error")},
		}
		for k, v := range rs {
			out[k] = v
		}
		return out
	}
	invalid := openapi.Response{Description: "Field validation failed.", Schema: openapi.Ref("ValidationError")}
	missing := func(message string) openapi.Response {
		return openapi.Response{Description: message, Schema: openapi.Ref("Error")}
	}
	path := func(name, description string) openapi.Parameter {
		return openapi.Parameter{Name: name, In: "path", Required: true, Description: description}
	}
	query := func(name, description string) openapi.Parameter {
		return openapi.Parameter{Name: name, In: "query", Description: description}
	}
	paging := []openapi.Parameter{
		query("page", "Page number, from 1."),
		{Name: "per_page", In: "query", Description: "Items per page: default 15, at most 100.", Schema: openapi.Schema{"type": "integer"}},
		query("sort", "A sortable field, -field for descending; newest first by default."),
	}
	product := path("product", "Reference id (any case), else numeric id.")
	license := path("license", "License code (any case), else numeric id.")
	activation := path("activation", "Activation id.")
	customer := path("customer", "Client id (any case), else numeric id.")
	version := path("version", "Version id, else a version string of the product.")

	productBody := openapi.Object(map[string]openapi.Schema{
		"name": {"type": "string", "maxLength": 255, "description": "Required on create."}, "reference_id": {"type": "string", "maxLength": 50, "pattern": "^[A-Za-z0-9._-]+$", "description": "Unique; generated when absent; cannot change."},
		"envato_id": textMax(100, ""), "description": textMax(10000, ""),
		"license_update":       described(flag, "Default false."),
		"serve_latest_updates": described(flag, "Default true."),
		"is_active":            described(flag, "Default true."),
		"status":               str("Alias of is_active: published is active, anything else is not."),
		"default_license_type": textMax(100, "License defaults: applied to new licenses, bulk generation and order sync."),
		"default_uses":         count, "default_parallel_uses": count, "default_expiry_days": count,
		"default_updates_until_days": count, "default_support_until_days": count, "default_comments": textMax(10000, ""),
		"default_expiry_start": expiryStart("Default first_activation; when new licenses' expiry_days start counting."),
		"grace_days":           described(count, "Days after a license's expires_at during which verify answers LICENSE_IN_GRACE (modern path); null or 0: none."),
		"entitlements":         described(list, "Feature names: letters, digits, . _ -, ≤ 50 characters, ≤ 100; names removed leave its licenses."),
		"default_entitlements": described(list, "Entitlements a new license gets; each one of entitlements."),
		"heartbeat_interval":   described(interval, "Seconds between heartbeats, 60–2592000; null: none asked."),
		"heartbeat_tolerance":  described(openapi.Nullable(openapi.Schema{"type": "integer", "minimum": 0, "maximum": catalog.HeartbeatToleranceMax}), "Seconds a heartbeat may be late; default 60."),
		"heartbeat_missed":     described(missed, "release (default) or keep."),
		"default_floating":     described(flag, "Default false; new licenses are floating unless created with floating."),
	})
	dates := openapi.Nullable(openapi.Schema{"type": "string", "description": "Y-m-d, Y-m-d H:i:s (setting timezone) or RFC 3339."})
	licenseBody := openapi.Object(map[string]openapi.Schema{
		"product_reference_id": str("Alias product_id; required on create; an existing product; cannot change."),
		"license_code":         {"type": "string", "maxLength": 100, "pattern": "^[A-Za-z0-9._-]+$", "description": "Unique regardless of case; generated when absent; cannot change."},
		"type":                 textMax(100, "Alias license_type."),
		"customer_id":          textMax(155, "Aliases client, client_name: links the license to the customer with this client id."),
		"email":                openapi.Nullable(openapi.Schema{"type": "string", "format": "email", "maxLength": 254, "description": "Alias client_email."}),
		"invoice":              textMax(255, ""), "comments": textMax(10000, ""), "uses": count,
		"parallel_uses": described(count, "null: unlimited."), "expiry_days": count,
		"expiry_start": expiryStart("Absent on create: the product's default_expiry_start. creation starts the clock at once."),
		"expires_at":   dates, "updates_until": dates, "support_until": dates,
		"domains":            described(list, "Hosts or *.wildcards: a JSON array, repeated keys, or one comma-separated string."),
		"ips":                described(list, "IPs or CIDR ranges (10.0.0.* is 10.0.0.0/24)."),
		"entitlements":       described(list, "Names the product defines; absent on create: the product's default_entitlements; empty: none."),
		"is_valid":           described(flag, "Default true; false blocks the license and deactivates its activations."),
		"is_envato":          described(flag, "Default false."),
		"floating":           described(flag, "Absent on create: the product's default_floating. parallel_uses counts live seats (docs/licensing.md#floating-licenses)."),
		"heartbeat_interval": described(interval, "Overrides the product's; null: the product's."),
		"heartbeat_missed":   described(missed, "Overrides the product's; null: the product's."),
	})
	versionBody := openapi.Object(map[string]openapi.Schema{
		"version":             {"type": "string", "pattern": `^v?\d+\.\d+(\.\d+)?(-[\w-]+)?$`, "description": "Required on create; unique within the product, not lower than its newest version."},
		"released_at":         str("Alias released. A date; default today."),
		"summary":             {"type": "string", "maxLength": 255},
		"changelog":           str("HTML or Markdown, ≤65535; required for a product's first version; sanitised before storage."),
		"main_file":           {"type": "string", "format": "binary", "description": "Required on create: zip, gz, tgz, tar.gz, tar.bz2 or tar.xz (checked by content)."},
		"sql_file":            {"type": "string", "format": "binary", "description": "Optional plain-text .sql file; sent empty, removes the stored one."},
		"version_id":          str("Optional, unique; generated in the format of setting product_version_unique_id_format."),
		"is_active":           flag,
		"version_status":      str("Alias of is_active: on / off."),
		"delete_old_versions": flag,
		"signature":           str("Base64 Ed25519 signature of manifest (docs/api/signing.md#release-integrity); with key_id and manifest."),
		"key_id":              str(""),
		"manifest":            str(""),
	})
	customerBody := openapi.Object(map[string]openapi.Schema{
		"name": {"type": "string", "minLength": 2, "maxLength": 120, "description": "Required on create."}, "email": {"type": "string", "format": "email", "maxLength": 254, "description": "Required on create; unique regardless of case."},
		"client_id": {"type": "string", "minLength": 6, "maxLength": 60, "description": "No whitespace, unique; a UUID is generated when absent."},
		"password":  str("At least setting password_min_length characters, not a common or trivial one; absent: no usable password."),
		"confirmed": described(flag, "Default true."),
	})

	tags := func(t string) []string { return []string{"Internal: " + t} }
	ops := []openapi.Operation{
		{Method: "GET", Path: "/api/internal/connection-check", ID: "internalConnectionCheck", Summary: "Check the connection and the internal key",
			Tags: tags("connection"), Scope: "connection:check",
			Responses: common(map[string]openapi.Response{"200": {Description: "Connection established.", Schema: openapi.Object(map[string]openapi.Schema{
				"status": flag, "is_active": flag, "message": {"type": "string", "const": "Connection established."}}, "status", "is_active", "message")}})},

		{Method: "GET", Path: "/api/internal/products", ID: "listProducts", Summary: "List products", Tags: tags("products"), Scope: "products:list",
			Parameters: append([]openapi.Parameter{query("search", "Name or reference id contains."), query("is_active", "Boolean.")}, paging...),
			Responses:  common(map[string]openapi.Response{"200": {Description: "A page of products.", Schema: page("Product")}, "422": invalid})},
		{Method: "POST", Path: "/api/internal/products", ID: "createProduct", Summary: "Create a product", Tags: tags("products"), Scope: "products:create",
			Body: productBody, Responses: common(map[string]openapi.Response{"201": {Description: "Created.", Schema: data("Product")}, "422": invalid})},
		{Method: "GET", Path: "/api/internal/products/{product}", ID: "getProduct", Summary: "Read a product", Tags: tags("products"), Scope: "products:read",
			Parameters: []openapi.Parameter{product},
			Responses:  common(map[string]openapi.Response{"200": {Description: "The product.", Schema: data("Product")}, "404": missing("Product not found.")})},
		{Method: "PUT", Path: "/api/internal/products/{product}", ID: "replaceProduct", Summary: "Update a product (partial, as PATCH)", Tags: tags("products"), Scope: "products:update",
			Parameters: []openapi.Parameter{product}, Body: productBody,
			Responses: common(map[string]openapi.Response{"200": {Description: "Updated.", Schema: data("Product")}, "404": missing("Product not found."), "422": invalid})},
		{Method: "PATCH", Path: "/api/internal/products/{product}", ID: "updateProduct", Summary: "Update a product: absent fields keep, null clears", Tags: tags("products"), Scope: "products:update",
			Parameters: []openapi.Parameter{product}, Body: productBody,
			Responses: common(map[string]openapi.Response{"200": {Description: "Updated.", Schema: data("Product")}, "404": missing("Product not found."), "422": invalid})},
		{Method: "DELETE", Path: "/api/internal/products/{product}", ID: "deleteProduct", Summary: "Delete a product with its versions, licenses and activations", Tags: tags("products"), Scope: "products:delete",
			Parameters: []openapi.Parameter{product},
			Responses:  common(map[string]openapi.Response{"200": {Description: "Deleted.", Schema: action(msgProductDeleted)}, "404": missing("Product not found.")})},
		{Method: "POST", Path: "/api/internal/activated-products/{product}", ID: "activateProduct", Summary: "Activate a product (idempotent)", Tags: tags("products"), Scope: "products:activate",
			Parameters: []openapi.Parameter{product},
			Responses:  common(map[string]openapi.Response{"200": {Description: "Active.", Schema: action(msgProductActivated)}, "404": missing("Product not found.")})},
		{Method: "DELETE", Path: "/api/internal/activated-products/{product}", ID: "deactivateProduct", Summary: "Deactivate a product (idempotent)", Tags: tags("products"), Scope: "products:deactivate",
			Parameters: []openapi.Parameter{product},
			Responses:  common(map[string]openapi.Response{"200": {Description: "Inactive.", Schema: action(msgProductDeactivated)}, "404": missing("Product not found.")})},

		{Method: "GET", Path: "/api/internal/products/{product}/versions", ID: "listVersions", Summary: "Every version of a product, newest first", Tags: tags("versions"), Scope: "versions:list",
			Parameters: []openapi.Parameter{product},
			Responses: common(map[string]openapi.Response{"200": {Description: "The versions (not paginated).", Schema: openapi.Object(map[string]openapi.Schema{
				"data": {"type": "array", "items": openapi.Ref("Version")}}, "data")}, "404": missing("Product not found.")})},
		{Method: "GET", Path: "/api/internal/products/{product}/versions/{version}", ID: "getVersion", Summary: "Read a version", Tags: tags("versions"), Scope: "versions:read",
			Parameters: []openapi.Parameter{product, version},
			Responses:  common(map[string]openapi.Response{"200": {Description: "The version.", Schema: data("Version")}, "404": missing("Product not found. / Product version not found.")})},
		{Method: "POST", Path: "/api/internal/products/{product}/versions", ID: "createVersion", Summary: "Upload a new version (multipart; files stream to storage)", Tags: tags("versions"), Scope: "versions:create",
			Parameters: []openapi.Parameter{product}, Body: versionBody, Multipart: true,
			Description: "The legacy edit_or_create_version (product_id and version in the multipart body, 200 with vid, version and release_date) " +
				"updates the product's version with that version string, else creates it.",
			Responses: common(map[string]openapi.Response{"201": {Description: "Created.", Schema: data("Version")}, "404": missing("Product not found."), "413": missing("The request body is too large."), "422": invalid})},
		{Method: "POST", Path: "/api/internal/products/{product}/versions/{version}", ID: "updateVersionUpload", Summary: "Update a version, replacing files (multipart; partial)", Tags: tags("versions"), Scope: "versions:update",
			Parameters: []openapi.Parameter{product, version}, Body: versionBody, Multipart: true,
			Responses: common(map[string]openapi.Response{"200": {Description: "Updated.", Schema: data("Version")}, "404": missing("Product not found. / Product version not found."), "422": invalid})},
		{Method: "PUT", Path: "/api/internal/products/{product}/versions/{version}", ID: "replaceVersion", Summary: "Update a version (partial, as PATCH)", Tags: tags("versions"), Scope: "versions:update",
			Parameters: []openapi.Parameter{product, version}, Body: versionBody,
			Responses: common(map[string]openapi.Response{"200": {Description: "Updated.", Schema: data("Version")}, "404": missing("Product not found. / Product version not found."), "422": invalid})},
		{Method: "PATCH", Path: "/api/internal/products/{product}/versions/{version}", ID: "updateVersion", Summary: "Update a version: absent fields keep", Tags: tags("versions"), Scope: "versions:update",
			Parameters: []openapi.Parameter{product, version}, Body: versionBody,
			Responses: common(map[string]openapi.Response{"200": {Description: "Updated.", Schema: data("Version")}, "404": missing("Product not found. / Product version not found."), "422": invalid})},
		{Method: "DELETE", Path: "/api/internal/products/{product}/versions/{version}", ID: "deleteVersion", Summary: "Delete a version and the files no other version uses", Tags: tags("versions"), Scope: "versions:delete",
			Parameters: []openapi.Parameter{product, version},
			Responses:  common(map[string]openapi.Response{"200": {Description: "Deleted.", Schema: action(msgVersionDeleted)}, "404": missing("Product not found. / Product version not found.")})},

		{Method: "GET", Path: "/api/internal/product-licenses", ID: "listLicenses", Summary: "List licenses", Tags: tags("licenses"), Scope: "licenses:list",
			Parameters: append([]openapi.Parameter{
				query("search", "License code, customer id or email contains (alias keyword)."), query("product_reference_id", ""),
				query("customer_id", "The licenses of the customer with this client id (linking rule: also those linked by their proven email); else licenses naming it."),
				query("email", ""), {Name: "status", In: "query", Schema: openapi.Schema{"type": "string", "enum": licensing.LicenseStatusFilters},
					Description: "valid, expired or blocked, as the license's status; in_grace: expired, within its product's grace_days; clock_not_started: its expiry clock still waits (docs/licensing.md)."},
			}, paging...),
			Responses: common(map[string]openapi.Response{"200": {Description: "A page of licenses.", Schema: page("License")}, "422": invalid})},
		{Method: "POST", Path: "/api/internal/product-licenses", ID: "createLicense", Summary: "Create a license; absent fields take the product's defaults", Tags: tags("licenses"), Scope: "licenses:create",
			Body: licenseBody, Responses: common(map[string]openapi.Response{"201": {Description: "Created.", Schema: data("License")}, "422": invalid})},
		{Method: "GET", Path: "/api/internal/product-licenses/{license}", ID: "getLicense", Summary: "Read a license", Tags: tags("licenses"), Scope: "licenses:read",
			Parameters: []openapi.Parameter{license},
			Responses:  common(map[string]openapi.Response{"200": {Description: "The license.", Schema: data("License")}, "404": missing("Product license not found.")})},
		{Method: "GET", Path: "/api/internal/product-licenses/{license}/file", ID: "getLicenseFile", Summary: "Download the license's signed license file (docs/api/signing.md#license-files)", Tags: tags("licenses"), Scope: "licenses:read",
			Parameters: []openapi.Parameter{license},
			Responses: common(map[string]openapi.Response{
				"200": {Description: "Attachment <reference>_<code>.lic.", ContentType: "text/plain", Schema: openapi.Schema{"type": "string"},
					Headers: map[string]string{"Content-Disposition": "attachment; filename=\"<reference>_<code>.lic\""}},
				"404": missing("Product license not found."),
			})},
		{Method: "PUT", Path: "/api/internal/product-licenses/{license}", ID: "replaceLicense", Summary: "Update a license (partial, as PATCH)", Tags: tags("licenses"), Scope: "licenses:update",
			Parameters: []openapi.Parameter{license}, Body: licenseBody,
			Responses: common(map[string]openapi.Response{"200": {Description: "Updated.", Schema: data("License")}, "404": missing("Product license not found."), "422": invalid})},
		{Method: "PATCH", Path: "/api/internal/product-licenses/{license}", ID: "updateLicense", Summary: "Update a license: absent fields keep, null clears", Tags: tags("licenses"), Scope: "licenses:update",
			Parameters: []openapi.Parameter{license}, Body: licenseBody,
			Responses: common(map[string]openapi.Response{"200": {Description: "Updated.", Schema: data("License")}, "404": missing("Product license not found."), "422": invalid})},
		{Method: "DELETE", Path: "/api/internal/product-licenses/{license}", ID: "deleteLicense", Summary: "Delete a license with its activations", Tags: tags("licenses"), Scope: "licenses:delete",
			Parameters: []openapi.Parameter{license},
			Responses:  common(map[string]openapi.Response{"200": {Description: "Deleted.", Schema: action(msgLicenseDeleted)}, "404": missing("Product license not found.")})},
		{Method: "POST", Path: "/api/internal/product-licenses/{license}/renew", ID: "renewLicense", Summary: "Renew a license on the same key", Tags: tags("licenses"), Scope: "licenses:update",
			Description: "Moves expires_at and updates_until days later, from the later of now and their current value (null stays null); activations are kept. Logged, recorded in the renewal history, license.renewed webhook.",
			Parameters:  []openapi.Parameter{license},
			Body: openapi.Object(map[string]openapi.Schema{
				"days": {"type": "integer", "minimum": 1, "maximum": 36500, "description": "Renewal period; absent: the product's default_expiry_days."},
			}),
			Responses: common(map[string]openapi.Response{"200": {Description: "Renewed.", Schema: data("License")}, "404": missing("Product license not found."), "422": invalid})},
		{Method: "POST", Path: "/api/internal/blocked-product-licenses/{license}", ID: "blockLicense", Summary: "Block a license, deactivating its activations (idempotent)", Tags: tags("licenses"), Scope: "licenses:block",
			Parameters: []openapi.Parameter{license},
			Responses:  common(map[string]openapi.Response{"200": {Description: "Blocked.", Schema: action(msgLicenseBlocked)}, "404": missing("Product license not found.")})},
		{Method: "DELETE", Path: "/api/internal/blocked-product-licenses/{license}", ID: "unblockLicense", Summary: "Unblock a license (idempotent)", Tags: tags("licenses"), Scope: "licenses:unblock",
			Parameters: []openapi.Parameter{license},
			Responses:  common(map[string]openapi.Response{"200": {Description: "Unblocked.", Schema: action(msgLicenseUnblocked)}, "404": missing("Product license not found.")})},

		{Method: "GET", Path: "/api/internal/product-activations", ID: "listActivations", Summary: "List activations and failed attempts", Tags: tags("activations"), Scope: "activations:list",
			Parameters: append([]openapi.Parameter{
				query("product_reference_id", ""), query("license_code", ""), query("client_name", ""), query("domain", ""),
				query("is_active", "Boolean."), query("is_valid", "Boolean; false lists failed attempts."),
				{Name: "status", In: "query", Schema: openapi.Schema{"type": "string", "enum": licensing.ActivationStates},
					Description: "released: freed for want of heartbeats; checked_in: a floating seat given back; heartbeat_missed: still active, kept after a missed heartbeat (docs/licensing.md#heartbeats-and-automatic-release)."},
			}, paging...),
			Responses: common(map[string]openapi.Response{"200": {Description: "A page of activations.", Schema: page("Activation")}, "422": invalid})},
		{Method: "GET", Path: "/api/internal/product-activations/{activation}", ID: "getActivation", Summary: "Read an activation", Tags: tags("activations"), Scope: "activations:read",
			Parameters: []openapi.Parameter{activation},
			Responses:  common(map[string]openapi.Response{"200": {Description: "The activation.", Schema: data("Activation")}, "404": missing("Product activation not found.")})},
		{Method: "POST", Path: "/api/internal/activated-product-activations/{activation}", ID: "activateActivation", Summary: "Mark an activation active without checking limits (idempotent)", Tags: tags("activations"), Scope: "activations:activate",
			Parameters: []openapi.Parameter{activation},
			Responses: common(map[string]openapi.Response{"200": {Description: "Active.", Schema: action(msgActivationActivated)}, "404": missing("Product activation not found."),
				"422": {Description: "Failed activation attempts cannot be activated.", Schema: openapi.Ref("ValidationError")}})},
		{Method: "DELETE", Path: "/api/internal/activated-product-activations/{activation}", ID: "deactivateActivation", Summary: "Deactivate an activation, freeing its slot (idempotent)", Tags: tags("activations"), Scope: "activations:deactivate",
			Parameters:  []openapi.Parameter{activation},
			Description: "The legacy deactivate_license_activations (by license_code) deactivates every activation of a license.",
			Responses:   common(map[string]openapi.Response{"200": {Description: "Inactive.", Schema: action(msgActivationDeactivated)}, "404": missing("Product activation not found.")})},

		{Method: "GET", Path: "/api/internal/customers", ID: "listCustomers", Summary: "List customers", Tags: tags("customers"), Scope: "customers:list",
			Parameters: append([]openapi.Parameter{query("search", "Name, email or client id contains."), query("confirmed", "Boolean.")}, paging...),
			Responses:  common(map[string]openapi.Response{"200": {Description: "A page of customers.", Schema: page("Customer")}, "422": invalid})},
		{Method: "POST", Path: "/api/internal/customers", ID: "createCustomer", Summary: "Create a customer", Tags: tags("customers"), Scope: "customers:create",
			Body: customerBody, Responses: common(map[string]openapi.Response{"201": {Description: "Created.", Schema: data("Customer")}, "422": invalid})},
		{Method: "GET", Path: "/api/internal/customers/{customer}", ID: "getCustomer", Summary: "Read a customer", Tags: tags("customers"), Scope: "customers:read",
			Parameters: []openapi.Parameter{customer},
			Responses:  common(map[string]openapi.Response{"200": {Description: "The customer.", Schema: data("Customer")}, "404": missing("Customer not found.")})},
		{Method: "PUT", Path: "/api/internal/customers/{customer}", ID: "replaceCustomer", Summary: "Update a customer (partial, as PATCH)", Tags: tags("customers"), Scope: "customers:update",
			Parameters: []openapi.Parameter{customer}, Body: customerBody,
			Responses: common(map[string]openapi.Response{"200": {Description: "Updated.", Schema: data("Customer")}, "404": missing("Customer not found."), "422": invalid})},
		{Method: "PATCH", Path: "/api/internal/customers/{customer}", ID: "updateCustomer", Summary: "Update a customer: absent fields keep", Tags: tags("customers"), Scope: "customers:update",
			Parameters: []openapi.Parameter{customer}, Body: customerBody,
			Responses: common(map[string]openapi.Response{"200": {Description: "Updated.", Schema: data("Customer")}, "404": missing("Customer not found."), "422": invalid})},
		{Method: "DELETE", Path: "/api/internal/customers/{customer}", ID: "deleteCustomer", Summary: "Delete a customer, keeping their licenses", Tags: tags("customers"), Scope: "customers:delete",
			Parameters: []openapi.Parameter{customer},
			Responses:  common(map[string]openapi.Response{"200": {Description: "Deleted.", Schema: action(msgCustomerDeleted)}, "404": missing("Customer not found.")})},
	}
	for i := range ops {
		for _, call := range calls {
			if call.twin == ops[i].ID {
				ops[i].LegacyPaths = append(ops[i].LegacyPaths, "/api/"+call.name, "/api_internal/"+call.name)
			}
		}
	}
	docs.Add(ops...)
}
