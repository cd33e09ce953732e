package web

import (
	"bytes"
	"encoding/json"
)

// JSONEncoder is the app's JSON encoder. Unlike json.Marshal it leaves &, <
// and > as they are: API messages are a byte-for-byte contract ("Platform
// up & running!"), and responses are served as application/json, never
// inlined into HTML.
func JSONEncoder(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
