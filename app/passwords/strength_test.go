package passwords

import "testing"

func TestWeakness(t *testing.T) {
	for _, tc := range []struct {
		pw, want string
	}{
		{"password", MsgCommon},
		{"Password1", MsgCommon},
		{"QWERTYUIOP", MsgCommon},
		{"aaaaaaaaaaaa", MsgOneSymbol},
		{"abcdefghijkl", MsgSimpleChain},
		{"9876543210", MsgSimpleChain},
		{"xx-cora.customer-xx", MsgPersonal},
		{"correct horse battery staple", ""},
	} {
		if got := Weakness(tc.pw, "cora.customer@example.com", "Cora"); got != tc.want {
			t.Errorf("Weakness(%q) = %q, want %q", tc.pw, got, tc.want)
		}
	}
	if n := len(commonSet()); n != 10000 {
		t.Errorf("common passwords: %d, want 10000", n)
	}
}
