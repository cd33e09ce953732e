package catalog

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/oklog/ulid/v2"
)

// NewID generates an identifier in one of the formats of the settings
// product_unique_id_format and product_version_unique_id_format: uuid,
// ulid, hex8 or hex16, upper-cased.
func NewID(format string, now time.Time) (string, error) {
	var id string
	switch format {
	case "uuid":
		id = uuid.NewString()
	case "ulid":
		u, err := ulid.New(ulid.Timestamp(now), rand.Reader)
		if err != nil {
			return "", fmt.Errorf("generate ulid: %w", err)
		}
		id = u.String()
	case "hex8", "hex16":
		b := make([]byte, 4)
		if format == "hex16" {
			b = make([]byte, 8)
		}
		if _, err := rand.Read(b); err != nil {
			return "", fmt.Errorf("generate id: %w", err)
		}
		id = hex.EncodeToString(b)
	default:
		return "", fmt.Errorf("unknown id format %q", format)
	}
	return strings.ToUpper(id), nil
}
