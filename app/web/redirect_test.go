package web

import "testing"

func TestLocalPath(t *testing.T) {
	tests := []struct{ raw, want string }{
		{"/admin", "/admin"},
		{"/admin/customers?q=a&page=2", "/admin/customers?q=a&page=2"},
		{"/", "/"},
		{"", "-"},
		{"admin", "-"},
		{"//evil.example", "-"},
		{"//evil.example/admin", "-"},
		{`/\evil.example`, "-"},
		{`/admin\..\x`, "-"},
		{"https://evil.example/admin", "-"},
		{"javascript:alert(1)", "-"},
		{"/admin\r\nSet-Cookie: x=1", "-"},
		{"/admin\x00", "-"},
		{"/%2F%2Fevil.example", "/%2F%2Fevil.example"}, // stays a path on this site
	}
	for _, tt := range tests {
		if got := LocalPath(tt.raw, "-"); got != tt.want {
			t.Errorf("LocalPath(%q) = %q, want %q", tt.raw, got, tt.want)
		}
	}
}
