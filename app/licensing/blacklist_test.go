package licensing

import "testing"

func TestBlacklistMatch(t *testing.T) {
	cases := []struct {
		entries []string
		value   string
		want    bool
	}{
		{[]string{"*bad*"}, "very-BAD-code", true},
		{[]string{"*bad*"}, "bad", true},
		{[]string{"*bad*"}, "good", false},
		{[]string{"*-test"}, "ABC-TEST", true},
		{[]string{"*-test"}, "abc-test-1", false},
		{[]string{"demo*"}, "Demo-123", true},
		{[]string{"demo*"}, "my-demo", false},
		{[]string{"John Doe"}, "john doe", true},
		{[]string{"John Doe"}, "John Doe Jr", false},
		{[]string{"  spaced  "}, "spaced", true},
		{[]string{"a*b"}, "a*b", true}, // an inner star is literal
		{[]string{"a*b"}, "axb", false},
		{[]string{"*"}, "anything", true},
		{[]string{"**"}, "anything", true},
		{[]string{"", "  "}, "anything", false},
		{[]string{"*"}, "", false},
		{[]string{"x"}, "  ", false},
		{nil, "x", false},
		{[]string{"ÉCOLE*"}, "école-1", true},
		{[]string{"no", "*ok"}, "is ok", true},
	}
	for _, c := range cases {
		if got := BlacklistMatch(c.entries, c.value); got != c.want {
			t.Errorf("BlacklistMatch(%q, %q) = %v, want %v", c.entries, c.value, got, c.want)
		}
	}
}

func TestBlacklistMatchIP(t *testing.T) {
	entries := []string{"203.0.113.9", "10.0.0.0/24", "192.168.*", "*::dead", "2001:DB8::1"}
	cases := map[string]bool{
		"203.0.113.9":        true,
		"::ffff:203.0.113.9": true,
		"203.0.113.90":       false,
		"10.0.0.77":          true,
		"::ffff:10.0.0.77":   true,
		"10.0.1.1":           false,
		"192.168.5.5":        true,
		"192.169.5.5":        false,
		"2001:db8::dead":     true,
		"2001:db8::1":        true,
		"2001:db8:0::1":      true,
		"2001:db8::2":        false,
	}
	for ip, want := range cases {
		if got := BlacklistMatchIP(entries, ip); got != want {
			t.Errorf("BlacklistMatchIP(%q) = %v, want %v", ip, got, want)
		}
	}
	// 10.0.0.1* is a text pattern: it matches 10.0.0.1x addresses.
	if !BlacklistMatchIP([]string{"10.0.0.1*"}, "10.0.0.150") || BlacklistMatchIP([]string{"10.0.0.1*"}, "10.0.0.2") {
		t.Error("prefix pattern on IP text")
	}
	if BlacklistMatchIP([]string{"not-an-ip/33"}, "10.0.0.1") {
		t.Error("an invalid range matches nothing")
	}
}

func TestBlacklistMatchDomain(t *testing.T) {
	cases := []struct {
		entries []string
		host    string
		dropWWW bool
		want    bool
	}{
		{[]string{"bad.example"}, "bad.example", true, true},
		{[]string{"BAD.example."}, "bad.example", true, true},
		{[]string{"https://www.bad.example/path"}, "bad.example", true, true},
		{[]string{"www.bad.example"}, "www.bad.example", false, true},
		{[]string{"www.bad.example"}, "bad.example", false, false},
		{[]string{"bad.example"}, "www.bad.example", false, false},
		{[]string{"bücher.de"}, "xn--bcher-kva.de", true, true},
		{[]string{"*.bad.example"}, "shop.bad.example", true, true},
		{[]string{"*.bad.example"}, "bad.example", true, false},
		{[]string{"*nulled*"}, "my-NULLED-site.example", true, true},
		{[]string{"localhost*"}, "localhost", true, true},
		{[]string{"*.test"}, "dev.test", true, true},
		{[]string{"good.example"}, "bad.example", true, false},
		{[]string{"::1"}, "::1", true, true},
		{[]string{"not a host"}, "bad.example", true, false},
		{[]string{"bad.example"}, "", true, false},
	}
	for _, c := range cases {
		if got := BlacklistMatchDomain(c.entries, c.host, c.dropWWW); got != c.want {
			t.Errorf("BlacklistMatchDomain(%q, %q, %v) = %v, want %v", c.entries, c.host, c.dropWWW, got, c.want)
		}
	}
}
