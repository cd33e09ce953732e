package web

import "testing"

func TestJSONEncoderKeepsAmpersands(t *testing.T) {
	b, err := JSONEncoder(map[string]string{"message": "Platform up & running! <ok>"})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(b); got != `{"message":"Platform up & running! <ok>"}` {
		t.Errorf("got %s", got)
	}
}
