package factor_test

import (
	"encoding/xml"
	"regexp"
	"strconv"
	"strings"
	"testing"

	qrcode "github.com/skip2/go-qrcode"

	"github.com/sesame-auth/sesame/factor"
)

const qrURI = "otpauth://totp/Sesame:alice%40example.com?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Sesame&algorithm=SHA1&digits=6&period=30"

// svgDoc is the structure QRCodeSVG must have: one svg, one path.
type svgDoc struct {
	XMLName xml.Name   `xml:"svg"`
	Attrs   []xml.Attr `xml:",any,attr"`
	Paths   []struct {
		Attrs []xml.Attr `xml:",any,attr"`
		D     string     `xml:"d,attr"`
	} `xml:"path"`
	Other []struct {
		XMLName xml.Name
	} `xml:",any"`
}

func attr(as []xml.Attr, name string) (string, bool) {
	for _, a := range as {
		if a.Name.Local == name {
			return a.Value, true
		}
	}
	return "", false
}

func TestQRCodeSVG(t *testing.T) {
	svg, err := factor.QRCodeSVG(qrURI)
	if err != nil {
		t.Fatal(err)
	}
	lower := strings.ToLower(svg)
	for _, bad := range []string{"<script", "style", "href", "data:", "javascript:", "on"} {
		if bad == "on" {
			if regexp.MustCompile(`\son[a-z]+=`).MatchString(lower) {
				t.Errorf("svg has an event handler attribute")
			}
			continue
		}
		if strings.Contains(lower, bad) {
			t.Errorf("svg contains %q", bad)
		}
	}
	var doc svgDoc
	if err := xml.Unmarshal([]byte(svg), &doc); err != nil {
		t.Fatalf("not XML: %v", err)
	}
	if len(doc.Paths) != 1 {
		t.Fatalf("got %d paths, want 1", len(doc.Paths))
	}
	if len(doc.Other) != 0 {
		t.Fatalf("svg has other elements: %v", doc.Other)
	}
	if r, _ := attr(doc.Attrs, "role"); r != "img" {
		t.Errorf("role %q, want img", r)
	}
	if l, _ := attr(doc.Attrs, "aria-label"); l == "" {
		t.Error("no aria-label")
	}
	want, err := qrcode.New(qrURI, qrcode.Medium)
	if err != nil {
		t.Fatal(err)
	}
	bm := want.Bitmap()
	n := len(bm)
	if vb, _ := attr(doc.Attrs, "viewBox"); vb != "0 0 "+strconv.Itoa(n)+" "+strconv.Itoa(n) {
		t.Fatalf("viewBox %q, want 0 0 %d %d", vb, n, n)
	}
	got := drawPath(t, doc.Paths[0].D, n)
	dark := 0
	for y := range n {
		for x := range n {
			if got[y][x] != bm[y][x] {
				t.Fatalf("module (%d,%d): got %v, want %v (the library's bitmap)", x, y, got[y][x], bm[y][x])
			}
			if got[y][x] {
				dark++
			}
		}
	}
	if dark == 0 {
		t.Fatal("no dark module")
	}
	// The quiet zone: four light modules on each side.
	for i := range n {
		for q := range 4 {
			if got[q][i] || got[n-1-q][i] || got[i][q] || got[i][n-1-q] {
				t.Fatalf("quiet zone has a dark module near (%d,%d)", i, q)
			}
		}
	}
}

// drawPath paints the runs "M x y h w v1 h-w z" of d on an n×n grid.
func drawPath(t *testing.T, d string, n int) [][]bool {
	t.Helper()
	grid := make([][]bool, n)
	for i := range grid {
		grid[i] = make([]bool, n)
	}
	run := regexp.MustCompile(`^M(\d+) (\d+)h(\d+)v1h-(\d+)z`)
	for d != "" {
		m := run.FindStringSubmatch(d)
		if m == nil || m[3] != m[4] {
			t.Fatalf("unexpected path data at %.30q", d)
		}
		x, _ := strconv.Atoi(m[1])
		y, _ := strconv.Atoi(m[2])
		w, _ := strconv.Atoi(m[3])
		if y >= n || x+w > n || w == 0 {
			t.Fatalf("run %q outside the %d-module grid", m[0], n)
		}
		for i := x; i < x+w; i++ {
			if grid[y][i] {
				t.Fatalf("run %q overlaps another", m[0])
			}
			grid[y][i] = true
		}
		d = d[len(m[0]):]
	}
	return grid
}

func TestQRCodeSVGRefuses(t *testing.T) {
	if _, err := factor.QRCodeSVG(""); err == nil {
		t.Error("empty URI encoded")
	}
	if _, err := factor.QRCodeSVG(strings.Repeat("x", 5000)); err == nil {
		t.Error("a URI beyond a QR code's capacity encoded")
	}
}
