package factor

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	qrcode "github.com/skip2/go-qrcode"
)

// QRCodeSVG renders uri (an otpauth URI) as a QR code in an inline <svg>
// element: a viewBox of one unit per module, the 4-module quiet zone
// included, and one <path> of the dark modules, with role="img" and an
// aria-label. It has no script, no style attribute and no external
// reference, so a page whose CSP forbids inline style, data: images and
// inline script can embed it. The light modules are transparent: put it on
// a light background. Error correction is level M (15%).
func QRCodeSVG(uri string) (string, error) {
	if uri == "" {
		return "", errors.New("factor: nothing to encode in a QR code")
	}
	q, err := qrcode.New(uri, qrcode.Medium)
	if err != nil {
		return "", fmt.Errorf("factor: qr code: %w", err)
	}
	bm := q.Bitmap() // quiet zone included
	n := strconv.Itoa(len(bm))
	var b strings.Builder
	b.WriteString(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ` + n + ` ` + n +
		`" role="img" aria-label="QR code of the authenticator key" shape-rendering="crispEdges"><path fill="#000" d="`)
	for y, row := range bm {
		for x := 0; x < len(row); {
			if !row[x] {
				x++
				continue
			}
			start := x
			for x < len(row) && row[x] {
				x++
			}
			fmt.Fprintf(&b, "M%d %dh%dv1h-%dz", start, y, x-start, x-start)
		}
	}
	b.WriteString(`"/></svg>`)
	return b.String(), nil
}
