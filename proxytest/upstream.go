package proxytest

import (
	"encoding/json"
	"html/template"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// IdentityHeaders are the headers Sesame's answer carries to the app, as
// the documented configurations copy them.
var IdentityHeaders = []string{"Remote-User", "Remote-Groups", "Remote-Name", "Remote-Email", "Sesame-Assertion"}

// Seen is one request as the upstream received it.
type Seen struct {
	Method string `json:"method"`
	URI    string `json:"uri"` // the request-target as sent by the proxy
	Host   string `json:"host"`
	// Identity holds every header whose name is one of IdentityHeaders
	// once lower-cased and with '_' read as '-' (as CGI-style apps read
	// them), under its name as received, with all its values.
	Identity map[string][]string `json:"identity"`
}

// Upstream is the protected app: it answers every request with what it
// received (an HTML page for browsers, JSON when asked with Accept:
// application/json) and records it.
type Upstream struct {
	URL string // http://127.0.0.1:PORT
	mu  sync.Mutex
	log []Seen
}

var page = template.Must(template.New("page").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>upstream</title></head>
<body><h1 id="uri">{{.URI}}</h1>
<p>Remote-User: <span id="remote-user">{{index .Identity "Remote-User"}}</span></p>
<p>Remote-Groups: <span id="remote-groups">{{index .Identity "Remote-Groups"}}</span></p>
<p>Remote-Name: <span id="remote-name">{{index .Identity "Remote-Name"}}</span></p>
<pre id="seen">{{.JSON}}</pre></body></html>
`))

// NewUpstream starts the app on loopback; it stops when the test ends.
func NewUpstream(t testing.TB) *Upstream {
	t.Helper()
	u := &Upstream{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(u.serve))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.Start()
	t.Cleanup(srv.Close)
	u.URL = srv.URL
	return u
}

// IsIdentityHeader reports whether name is one of IdentityHeaders, read
// without regard to case and with '_' as '-'.
func IsIdentityHeader(name string) bool {
	n := strings.ReplaceAll(strings.ToLower(name), "_", "-")
	for _, h := range IdentityHeaders {
		if n == strings.ToLower(h) {
			return true
		}
	}
	return false
}

func (u *Upstream) serve(w http.ResponseWriter, r *http.Request) {
	s := Seen{Method: r.Method, URI: r.RequestURI, Host: r.Host, Identity: map[string][]string{}}
	for name, vs := range r.Header {
		if IsIdentityHeader(name) {
			s.Identity[name] = vs
		}
	}
	u.mu.Lock()
	u.log = append(u.log, s)
	u.mu.Unlock()
	b, _ := json.Marshal(s)
	if strings.Contains(r.Header.Get("Accept"), "application/json") {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b)
		return
	}
	first := map[string]string{}
	for name, vs := range s.Identity {
		first[name] = strings.Join(vs, " | ")
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = page.Execute(w, map[string]any{"URI": s.URI, "Identity": first, "JSON": string(b)})
}

// Requests returns every request the upstream has received so far.
func (u *Upstream) Requests() []Seen {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]Seen(nil), u.log...)
}
