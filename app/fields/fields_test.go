package fields

import "testing"

func TestErrorKeepsOrderAndFirstMessagePerField(t *testing.T) {
	var e Error
	if e.Err() != nil {
		t.Fatal("empty error list must be nil")
	}
	e.Add("name", Required("name"))
	e.Add("email", Email("email"))
	e.Add("name", MaxLen("name", 3))
	if e.Len() != 2 || e.First() != "The name field is required." {
		t.Fatalf("got %v", e.Fields())
	}
	if e.Map()["email"] != "The email field must be a valid email address." {
		t.Fatalf("map: %v", e.Map())
	}
	got, ok := As(e.Err())
	if !ok || got.Len() != 2 {
		t.Fatal("As did not find the error")
	}
}

func TestMessages(t *testing.T) {
	cases := map[string]string{
		Required("product_id"):                           "The product id field is required.",
		RequiredWithout("license_code", "purchase_code"): "The license code field is required when purchase code is not present.",
		MaxLen("name", 255):                              "The name field must not be greater than 255 characters.",
		MinLen("name", 2):                                "The name field must be at least 2 characters.",
		Min("uses", 0):                                   "The uses field must be at least 0.",
		Selected("verify_type"):                          "The selected verify type is invalid.",
		Taken("email"):                                   "The email has already been taken.",
		Immutable("reference_id"):                        "The reference id cannot be changed.",
		IP("ips.0"):                                      "The ips.0 field must be a valid IP address or CIDR range.",
		Format("license_code"):                           "The license code field format is invalid.",
	}
	for got, want := range cases {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}

func TestRules(t *testing.T) {
	for s, want := range map[string]bool{
		"ann@example.com": true, "a@b": true, "Ann <ann@example.com>": false, "ann": false,
		"@example.com": false, "ann@": false, "ann @example.com": false, "": false,
	} {
		if IsEmail(s) != want {
			t.Errorf("IsEmail(%q) = %v", s, !want)
		}
	}
	for s, want := range map[string]bool{"ACME-CMS": true, "a.b_c-1": true, "a b": false, "": false, "é": false} {
		if IsIdentifier(s) != want {
			t.Errorf("IsIdentifier(%q) = %v", s, !want)
		}
	}
	var e Error
	e.CheckLen("name", "é", 2, 120)
	if e.First() != "The name field must be at least 2 characters." {
		t.Fatal(e.First())
	}
}
