package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestFormErrorsTiedToFields: a refused form comes back with its error in
// the element #error and every field of the form pointing at it
// (aria-invalid, aria-describedby), so a screen reader reads the error with
// the field (issue 16, accessibility).
func TestFormErrorsTiedToFields(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signup("alice", alicePW)
	for _, f := range []struct {
		path   string
		form   url.Values
		fields []string
	}{
		{"/login", url.Values{"username": {"alice"}, "password": {"wrong password"}}, []string{"username", "password"}},
		{"/signup", url.Values{"username": {"alice"}, "password": {alicePW}}, []string{"username", "password"}},
	} {
		r := c.do("POST", f.path, f.form, "Accept", "text/html")
		if r.StatusCode < 400 {
			t.Fatalf("POST %s: %d, want a refusal", f.path, r.StatusCode)
		}
		body := string(r.body)
		if !strings.Contains(body, `id="error"`) {
			t.Fatalf("POST %s: no #error element", f.path)
		}
		for _, id := range f.fields {
			if !strings.Contains(body, `id="`+id+`" aria-invalid="true" aria-describedby="error"`) {
				t.Errorf("POST %s: field #%s is not tied to the error", f.path, id)
			}
		}
	}
	// Without an error, no field claims to be invalid.
	if r := c.do("GET", "/login", nil, "Accept", "text/html"); r.StatusCode != http.StatusOK || strings.Contains(string(r.body), "aria-invalid") {
		t.Fatalf("GET /login: %d, aria-invalid present: %v", r.StatusCode, strings.Contains(string(r.body), "aria-invalid"))
	}
}
