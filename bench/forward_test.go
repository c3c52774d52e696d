package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/sesame-auth/sesame/authz"
	"github.com/sesame-auth/sesame/config"
	"github.com/sesame-auth/sesame/proxytest"
)

// BenchmarkForwardAuth is one request through real nginx running
// docs/proxy/nginx.conf (auth_request to Sesame's forward-auth endpoint,
// Sesame in this process), one client, sequential: the latency view of
// what bench/cmd/forwardbench measures under load (the README's table
// comes from that tool). Rows: nginx-no-auth (the same proxy without
// auth_request), nginx-auth-cookie, nginx-auth-bearer, and Sesame alone:
// endpoint-cookie, endpoint-bearer and livez. Skips without nginx
// (apt-get install nginx-light), except under CI=true.
func BenchmarkForwardAuth(b *testing.B) {
	nginx := proxytest.NginxPath(b)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	srv := httptest.NewUnstartedServer(nil)
	a := newBenchApp(b, ctx, "http://"+srv.Listener.Addr().String(), func(cfg *config.Config) {
		cfg.TrustedProxies = []string{"127.0.0.1/32"}
		cfg.AccessRules = []authz.Rule{{Domain: "*", Policy: "authenticated"}}
	})
	srv.Config.Handler = a.Handler()
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.Start()
	defer srv.Close()

	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "hello "+r.Header.Get("Remote-User")+"\n")
	}))
	defer up.Close()

	authAddr := fmt.Sprintf("127.0.0.1:%d", proxytest.FreePort(b))
	plainAddr := fmt.Sprintf("127.0.0.1:%d", proxytest.FreePort(b))
	documented, err := proxytest.Render("nginx.conf", proxytest.Vars{Listen: authAddr, Sesame: srv.Listener.Addr().String(), Upstream: up.URL})
	if err != nil {
		b.Fatal(err)
	}
	plain := fmt.Sprintf("server {\n    listen %s;\n    location / {\n        proxy_set_header Host $http_host;\n        proxy_pass %s;\n    }\n}\n", plainAddr, up.URL)
	proxytest.StartNginx(b, nginx, proxytest.NginxOptions{}, []string{authAddr, plainAddr}, documented, plain)

	if _, err := a.Accounts().Signup(ctx, "bench", "bench-password-1", false); err != nil {
		b.Fatal(err)
	}
	cookie, token := forwardLogin(b, srv.URL, "session"), forwardLogin(b, srv.URL, "header")
	original := []string{"X-Original-URL", "http://" + authAddr + "/page", "X-Original-Method", "GET"}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	rows := []struct {
		name, url string
		hdr       []string
	}{
		{"nginx-no-auth", "http://" + plainAddr + "/page", nil},
		{"nginx-auth-cookie", "http://" + authAddr + "/page", cookie},
		{"nginx-auth-bearer", "http://" + authAddr + "/page", token},
		{"endpoint-cookie", srv.URL + "/api/v1/authz/forward", append(append([]string{}, original...), cookie...)},
		{"endpoint-bearer", srv.URL + "/api/v1/authz/forward", append(append([]string{}, original...), token...)},
		{"livez", srv.URL + "/livez", nil},
	}
	for _, row := range rows {
		b.Run(row.name, func(b *testing.B) {
			req, _ := http.NewRequest("GET", row.url, nil)
			for i := 0; i+1 < len(row.hdr); i += 2 {
				req.Header.Set(row.hdr[i], row.hdr[i+1])
			}
			b.ReportAllocs()
			for b.Loop() {
				res, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					b.Fatalf("GET %s: got %d, want 200", row.url, res.StatusCode)
				}
			}
		})
	}
}

// forwardLogin logs the bench user in with the transport and returns the
// header that carries the credential (name, value).
func forwardLogin(b *testing.B, base, transport string) []string {
	b.Helper()
	body, _ := json.Marshal(map[string]string{"username": "bench", "password": "bench-password-1", "transport": transport})
	req, _ := http.NewRequest("POST", base+"/api/v1/login", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		b.Fatalf("login (%s): got %d %s", transport, res.StatusCode, raw)
	}
	if transport == "header" {
		var v struct {
			AccessToken string `json:"access_token"`
		}
		if err := json.Unmarshal(raw, &v); err != nil || v.AccessToken == "" {
			b.Fatalf("login: no access token in %s", raw)
		}
		return []string{"Authorization", "Bearer " + v.AccessToken}
	}
	for _, c := range res.Cookies() {
		if c.Name == "__Host-sesame" {
			return []string{"Cookie", c.Name + "=" + c.Value}
		}
	}
	b.Fatalf("login: no session cookie")
	return nil
}
