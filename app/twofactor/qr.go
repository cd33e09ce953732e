package twofactor

import (
	"fmt"
	"strings"

	"github.com/boombuler/barcode/qr"
)

// quietZone is the white border QR readers need, in modules.
const quietZone = 4

// QRCodeSVG draws content (an enrolment's URI) as a QR code in SVG: one
// path of unit squares on a white background, scaled by the viewBox, so it
// stays sharp at any size and needs no image file or script. The module
// matrix comes from the QR encoder; only the drawing is ours.
func QRCodeSVG(content, title string) (string, error) {
	code, err := qr.Encode(content, qr.M, qr.Auto)
	if err != nil {
		return "", fmt.Errorf("two-factor: QR code: %w", err)
	}
	n := code.Bounds().Dx()
	size := n + 2*quietZone
	var path strings.Builder
	for y := range n {
		for x := 0; x < n; x++ {
			if !dark(code.At(x, y)) {
				continue
			}
			// One run of dark modules in a row is one rectangle.
			run := 1
			for x+run < n && dark(code.At(x+run, y)) {
				run++
			}
			fmt.Fprintf(&path, "M%d %dh%dv1h-%dz", x+quietZone, y+quietZone, run, run)
			x += run - 1
		}
	}
	return fmt.Sprintf(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="%s" shape-rendering="crispEdges"><rect width="%d" height="%d" fill="#fff"/><path fill="#000" d="%s"/></svg>`,
		size, size, size*5, size*5, htmlEscape(title), size, size, path.String()), nil
}

func dark(c interface{ RGBA() (r, g, b, a uint32) }) bool {
	r, _, _, _ := c.RGBA()
	return r < 0x8000
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}
