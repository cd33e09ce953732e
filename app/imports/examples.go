package imports

// examples are the rows of the downloadable example files.
func examples(k Kind) []map[string]string {
	if k == Licenses {
		return []map[string]string{
			{"license_code": "ACME-0001-EXAMPLE", "product_reference_id": "ACME", "email": "ada@example.com",
				"type": "Regular", "uses": "3", "parallel_uses": "1", "expires_at": "2030-12-31",
				"updates_until": "2030-12-31", "support_until": "2030-06-30", "domains": "example.com,*.example.org",
				"ips": "203.0.113.7", "invoice": "INV-1001", "comments": "Imported", "is_valid": "true", "is_envato": "false"},
			{"product_reference_id": "ACME", "customer_id": "customer-0002", "expiry_days": "365"},
		}
	}
	return []map[string]string{
		{"name": "Ada Lovelace", "email": "ada@example.com", "client_id": "customer-0001", "password": "a long secret 1", "confirmed": "true"},
		{"name": "Charles Babbage", "email": "charles@example.com"},
	}
}
