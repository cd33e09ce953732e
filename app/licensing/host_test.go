package licensing

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestNormalizeHost(t *testing.T) {
	cases := []struct {
		in      string
		dropWWW bool
		want    string // "" = ErrInvalidHost
	}{
		{"example.com", false, "example.com"},
		{"  Example.COM  ", false, "example.com"},
		{"https://www.example.com/shop/?a=b#c", true, "example.com"},
		{"https://www.example.com/shop/?a=b#c", false, "www.example.com"},
		{"www.www.example.com", true, "www.example.com"}, // one www. only
		{"www.", true, "www"},
		{"http://www/", true, "www"},
		{"example.com.", false, "example.com"},
		{"example.com:8080", false, "example.com"},
		{"example.com:", false, "example.com"},
		{"example.com:80x", false, ""},
		{"https://user:pa@ss@example.com:8443/x", false, "example.com"},
		{"//example.com/path", false, "example.com"},
		{"HTTPS://EXAMPLE.COM", false, "example.com"},
		{"ftp://files.example.com/pub", false, "files.example.com"},
		{"example.com/a?u=http://other.test/", false, "example.com"},
		{"https://a1b2c3.local", false, "a1b2c3.local"},
		{"my_site.local", false, "my_site.local"},
		{"r3---sn-apo3qvuoxuxbt-j5pe.example", false, "r3---sn-apo3qvuoxuxbt-j5pe.example"},
		{"localhost", false, "localhost"},
		// IDN
		{"bücher.de", false, "xn--bcher-kva.de"},
		{"https://BÜCHER.de/", false, "xn--bcher-kva.de"},
		{"xn--bcher-kva.de", false, "xn--bcher-kva.de"},
		{"www.münchen.de.", true, "xn--mnchen-3ya.de"},
		{"ｅｘａｍｐｌｅ.com", false, "example.com"},    // fullwidth letters map
		{"straße.de", false, "xn--strae-oqa.de"}, // non-transitional
		// IPs
		{"203.0.113.9", false, "203.0.113.9"},
		{"http://203.0.113.9:8080/x", true, "203.0.113.9"},
		{"http://[2001:DB8::1]:80/", false, "2001:db8::1"},
		{"[2001:db8:0:0::1]", false, "2001:db8::1"},
		{"2001:db8::1", false, "2001:db8::1"},
		{"http://[::ffff:192.0.2.1]/", false, "192.0.2.1"},
		{"http://[fe80::1%25eth0]/", false, ""},
		{"[2001:db8::1", false, ""},
		{"[192.0.2.1]", false, ""},
		// no host
		{"", false, ""},
		{"   ", false, ""},
		{"http://", false, ""},
		{"https:///path", false, ""},
		{"http://:80/", false, ""},
		{"exa mple.com", false, ""},
		{"exa%20mple.com", false, ""},
		{"example..com", false, ""},
		{".example.com", false, ""},
		{"example.com..", false, ""},
		{"*.example.com", false, ""},
		{"exam<ple>.com", false, ""},
		{strings.Repeat("a", 64) + ".com", false, ""},
		{strings.Repeat("a", 63) + ".com", false, strings.Repeat("a", 63) + ".com"},
	}
	for _, c := range cases {
		got, err := NormalizeHost(c.in, c.dropWWW)
		if c.want == "" {
			if err != ErrInvalidHost {
				t.Errorf("NormalizeHost(%q) = %q, %v; want ErrInvalidHost", c.in, got, err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("NormalizeHost(%q, %v) = %q, %v; want %q", c.in, c.dropWWW, got, err, c.want)
		}
	}
}

func TestActivationURL(t *testing.T) {
	cases := map[string]string{
		"https://shop.example.com":                          "https://shop.example.com",
		"https://shop.example.com/":                         "https://shop.example.com",
		"https://Shop.Example.com/app/public/?page=2#top":   "https://shop.example.com/app",
		"https://shop.example.com/public":                   "https://shop.example.com",
		"https://shop.example.com/public/index.php":         "https://shop.example.com/public/index.php",
		"https://shop.example.com/publicity":                "https://shop.example.com/publicity",
		"http://user:pw@www.example.com:8080/admin//":       "http://www.example.com/admin",
		"example.com/shop":                                  "http://example.com/shop",
		"HTTPS://bücher.de/Katalog":                         "https://xn--bcher-kva.de/Katalog",
		"http://[2001:db8::1]:8080/x/":                      "http://[2001:db8::1]/x",
		"http://203.0.113.9/":                               "http://203.0.113.9",
		"https://example.com/a%zz/b?c":                      "https://example.com/a%zz/b",
		"https://example.com#frag/public":                   "https://example.com",
		"":                                                  "",
		"http:///nohost":                                    "",
		"https://example.com/public/public/":                "https://example.com/public",
		"https://example.com/app/public/?return=/public/":   "https://example.com/app",
		"https://example.com/?u=https://www.other.example/": "https://example.com",
	}
	for in, want := range cases {
		if got := ActivationURL(in); got != want {
			t.Errorf("ActivationURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNormalizeDomainEntry(t *testing.T) {
	cases := []struct {
		in      string
		dropWWW bool
		want    string
	}{
		{"Example.com", true, "example.com"},
		{"www.example.com", true, "example.com"},
		{"www.example.com", false, "www.example.com"},
		{"*.Example.com", true, "*.example.com"},
		{"*.www.example.com", true, "*.www.example.com"},
		{"https://*.example.com/", true, "*.example.com"},
		{"*.bücher.de", false, "*.xn--bcher-kva.de"},
		{"https://shop.example.com:443/x", true, "shop.example.com"},
		{"203.0.113.9", true, "203.0.113.9"},
		{"*.203.0.113.9", true, ""},
		{"*.", true, ""},
		{"*", true, ""},
		{"a.*.example.com", true, ""},
		{"*example.com", true, ""},
		{"", true, ""},
	}
	for _, c := range cases {
		got, err := NormalizeDomainEntry(c.in, c.dropWWW)
		if c.want == "" {
			if err == nil {
				t.Errorf("NormalizeDomainEntry(%q) = %q, want an error", c.in, got)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("NormalizeDomainEntry(%q, %v) = %q, %v; want %q", c.in, c.dropWWW, got, err, c.want)
		}
	}
}

func TestDomainMatches(t *testing.T) {
	entries := []string{"example.com", "*.example.org", "xn--bcher-kva.de"}
	cases := map[string]bool{
		"example.com":         true,
		"EXAMPLE.com":         true,
		"www.example.com":     false, // exact entries are exact
		"a.example.org":       true,
		"a.b.example.org":     true,
		"example.org":         false, // not the apex
		"badexample.org":      false,
		"a.example.org.evil":  false,
		"xn--bcher-kva.de":    true,
		"":                    false,
		"example.com.":        false, // callers pass normalised hosts
		"other.example.com":   false,
		"shop.example.org.uk": false,
	}
	for host, want := range cases {
		if got := DomainMatches(entries, host); got != want {
			t.Errorf("DomainMatches(%q) = %v, want %v", host, got, want)
		}
	}
	if DomainMatches(nil, "example.com") {
		t.Error("no entries must match nothing")
	}
}

func FuzzNormalizeHost(f *testing.F) {
	for _, s := range []string{
		"example.com", "https://WWW.Example.com:8443/shop?x=1", "bücher.de.", "http://[2001:DB8::1]:80/",
		"//x", "a@b@c", "[::ffff:1.2.3.4]", "xn--bcher-kva.de", "*.example.com", "http://:/", "ｅｘａｍｐｌｅ.com",
		"\xff.com", "a..b", "HTTP://ÉXAMPLE.COM./PUBLIC/", "1.2.3.4:80",
	} {
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, raw string, dropWWW bool) {
		h, err := NormalizeHost(raw, dropWWW)
		u := ActivationURL(raw)
		if err != nil {
			if u != "" {
				t.Fatalf("ActivationURL(%q) = %q for an invalid host", raw, u)
			}
			return
		}
		if h == "" || !utf8.ValidString(h) || strings.ToLower(h) != h || strings.TrimSpace(h) != h {
			t.Fatalf("NormalizeHost(%q) = %q", raw, h)
		}
		// A normalised host normalises to itself (without dropping www.
		// again) and is licensed by an entry made from itself.
		again, err := NormalizeHost(h, false)
		if err != nil || again != h {
			t.Fatalf("NormalizeHost(%q) = %q, again %q, %v", raw, h, again, err)
		}
		e, err := NormalizeDomainEntry(h, false)
		if err != nil || !DomainMatches([]string{e}, h) {
			t.Fatalf("entry %q (%v) does not match host %q", e, err, h)
		}
		if u == "" || strings.ContainsAny(u, "?#") {
			t.Fatalf("ActivationURL(%q) = %q", raw, u)
		}
		if uh, err := NormalizeHost(u, false); err != nil || (uh != h && !dropWWW) {
			t.Fatalf("ActivationURL(%q) = %q has host %q, %v; want %q", raw, u, uh, err, h)
		}
	})
}
