package oauth_test

import (
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/jose"
	"github.com/sesame-auth/sesame/oauth"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// ccForm is a client_credentials request body, which every confidential
// client of the harness may not send, but whose client authentication
// comes first: 400 unauthorized_client means it authenticated.
func ccForm() url.Values { return url.Values{"grant_type": {"client_credentials"}} }

func TestClientSecretBasic(t *testing.T) {
	f := newTHFixture(t)
	basic := func(user, pass string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", oauth.PathToken, nil)
		r.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(user+":"+pass)))
		return f.send(r, oauth.PathToken, ccForm().Encode())
	}
	// thWeb's secret has : + % / & =, form-urlencoded in the header (RFC
	// 6749 §2.3.1).
	if w := basic(url.QueryEscape(thWeb), url.QueryEscape(f.secrets[thWeb])); w.Code != http.StatusOK {
		t.Fatalf("encoded credentials: status %d, body %s", w.Code, w.Body)
	}
	cases := []struct{ name, user, pass string }{
		{"wrong secret", thWeb, "nope"},
		{"secret not url-encoded", thWeb, f.secrets[thWeb]},
		{"unknown client", "ghost", "x"},
		{"empty secret", thWeb, ""},
		{"public client", thSPA, "x"},
		{"client_secret_post client", thPost, url.QueryEscape(f.secrets[thPost])},
		{"private_key_jwt client with its (unused) secret", thJWT, f.secrets[thJWT]},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := basic(tc.user, tc.pass)
			wantError(t, w, 401, "invalid_client")
			if w.Header().Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
	t.Run("malformed header", func(t *testing.T) {
		for _, h := range []string{"Basic !!!", "Basic " + base64.StdEncoding.EncodeToString([]byte("no-colon")), "Bearer abc", "Basic"} {
			r := httptest.NewRequest("POST", oauth.PathToken, nil)
			r.Header.Set("Authorization", h)
			wantError(t, f.send(r, oauth.PathToken, ccForm().Encode()), 401, "invalid_client")
		}
	})
	t.Run("client_id differs from the header's", func(t *testing.T) {
		form := ccForm()
		form.Set("client_id", thPost)
		wantError(t, f.post(oauth.PathToken, thWeb, form), 400, "invalid_request")
	})
}

func TestClientSecretPost(t *testing.T) {
	f := newTHFixture(t)
	wantError(t, f.post(oauth.PathToken, thPost, ccForm()), 400, "unauthorized_client") // authenticated
	form := ccForm()
	form.Set("client_id", thPost)
	form.Set("client_secret", "wrong")
	wantError(t, f.post(oauth.PathToken, "", form), 401, "invalid_client")
	// A client_secret_basic client sending its secret in the body.
	form = ccForm()
	form.Set("client_id", thWeb)
	form.Set("client_secret", f.secrets[thWeb])
	wantError(t, f.post(oauth.PathToken, "", form), 401, "invalid_client")
	// A private_key_jwt client sending a secret.
	form.Set("client_id", thJWT)
	form.Set("client_secret", f.secrets[thJWT])
	wantError(t, f.post(oauth.PathToken, "", form), 401, "invalid_client")
}

func TestNoneOnlyForPublicClients(t *testing.T) {
	f := newTHFixture(t)
	form := ccForm()
	form.Set("client_id", thWeb) // confidential, no credential
	wantError(t, f.post(oauth.PathToken, "", form), 401, "invalid_client")
	wantError(t, f.post(oauth.PathToken, "", ccForm()), 401, "invalid_client") // nothing at all
}

func TestMoreThanOneClientAuthMethod(t *testing.T) {
	f := newTHFixture(t)
	form := ccForm()
	form.Set("client_secret", f.secrets[thWeb])
	wantError(t, f.post(oauth.PathToken, thWeb, form), 400, "invalid_request") // Basic and post
	form = ccForm()
	form.Set("client_id", thJWT)
	form.Set("client_secret", f.secrets[thJWT])
	form.Set("client_assertion_type", oauth.JWTBearerAssertionType)
	form.Set("client_assertion", f.assertion(assertionOpts{}))
	wantError(t, f.post(oauth.PathToken, "", form), 400, "invalid_request")
}

func TestPrivateKeyJWT(t *testing.T) {
	f := newTHFixture(t)
	send := func(assertion string) *httptest.ResponseRecorder {
		form := ccForm()
		form.Set("client_assertion_type", oauth.JWTBearerAssertionType)
		form.Set("client_assertion", assertion)
		return f.post(oauth.PathToken, "", form)
	}
	// Authenticated (thJWT may not use client_credentials).
	wantError(t, send(f.assertion(assertionOpts{})), 400, "unauthorized_client")
	wantError(t, send(f.assertion(assertionOpts{aud: []string{thIssuer}})), 400, "unauthorized_client")

	t.Run("replayed jti", func(t *testing.T) {
		a := f.assertion(assertionOpts{jti: "once"})
		wantError(t, send(a), 400, "unauthorized_client")
		wantError(t, send(a), 401, "invalid_client")
		// Another assertion with the same jti too.
		wantError(t, send(f.assertion(assertionOpts{jti: "once", exp: time.Minute})), 401, "invalid_client")
	})
	other, err := jose.GenerateKey(jose.ES256, "client-key") // same kid, not registered
	if err != nil {
		t.Fatal(err)
	}
	hmac, err := jose.NewKey(jose.HS256, []byte("0123456789abcdef0123456789abcdef"), "client-key")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		o    assertionOpts
	}{
		{"wrong aud", assertionOpts{aud: []string{"https://other.example"}}},
		{"aud the revocation endpoint", assertionOpts{aud: []string{thIssuer + oauth.PathRevoke}}},
		{"expired", assertionOpts{exp: -time.Minute}},
		{"no exp", assertionOpts{noExp: true}},
		{"exp more than 5 minutes ahead", assertionOpts{exp: 10 * time.Minute}},
		{"signed by an unregistered key", assertionOpts{key: other}},
		{"HMAC with a guessed secret", assertionOpts{key: hmac}},
		{"another client's id", assertionOpts{iss: thWeb}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, send(f.assertion(tc.o)), 401, "invalid_client")
		})
	}
	t.Run("garbage", func(t *testing.T) {
		for _, a := range []string{"", "a.b.c", "not a jwt", "e30.e30.e30"} {
			wantError(t, send(a), 401, "invalid_client")
		}
	})
	t.Run("wrong assertion type", func(t *testing.T) {
		form := ccForm()
		form.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:saml2-bearer")
		form.Set("client_assertion", f.assertion(assertionOpts{}))
		wantError(t, f.post(oauth.PathToken, "", form), 401, "invalid_client")
	})
	t.Run("assertion without its type", func(t *testing.T) {
		form := ccForm()
		form.Set("client_assertion", f.assertion(assertionOpts{}))
		wantError(t, f.post(oauth.PathToken, "", form), 400, "invalid_request")
	})
	t.Run("client_id differs from iss", func(t *testing.T) {
		form := ccForm()
		form.Set("client_id", thWeb)
		form.Set("client_assertion_type", oauth.JWTBearerAssertionType)
		form.Set("client_assertion", f.assertion(assertionOpts{}))
		wantError(t, f.post(oauth.PathToken, "", form), 401, "invalid_client")
	})
	t.Run("store down", func(t *testing.T) {
		f.store.down.Store(true)
		defer f.store.down.Store(false)
		wantError(t, send(f.assertion(assertionOpts{})), 503, "temporarily_unavailable")
	})
}

// A private_key_jwt client goes through the whole code flow.
func TestPrivateKeyJWTCodeFlow(t *testing.T) {
	f := newTHFixture(t)
	_, sess := f.user("alice")
	tr := f.tokens200(f.exchange(thJWT, f.code(sess, codeOpts{client: thJWT, scope: "openid"}), ""))
	f.tokens200(f.refresh(thJWT, tr.RefreshToken, nil))
}

// golang.org/x/oauth2 form-urlencodes the client ID and secret before Basic
// (RFC 6749 §2.3.1), or sends them in the body: both work, with a secret
// full of characters that the encoding changes.
func TestClientSecretInteropXOAuth2(t *testing.T) {
	f := newTHFixture(t)
	srv := httptest.NewServer(f.h)
	defer srv.Close()
	for _, style := range []oauth2.AuthStyle{oauth2.AuthStyleInHeader, oauth2.AuthStyleInParams} {
		id, secret := thWeb, f.secrets[thWeb]
		if style == oauth2.AuthStyleInParams {
			id, secret = thPost, f.secrets[thPost]
		}
		cfg := clientcredentials.Config{ClientID: id, ClientSecret: secret, TokenURL: srv.URL + oauth.PathToken,
			AuthStyle: style, EndpointParams: url.Values{"resource": {thAPI}}}
		tok, err := cfg.Token(t.Context())
		if id == thPost {
			// thPost authenticates but may not use client_credentials.
			var re *oauth2.RetrieveError
			if !errors.As(err, &re) || re.ErrorCode != "unauthorized_client" {
				t.Errorf("client_secret_post: %v, want unauthorized_client", err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("client_secret_basic: %v", err)
		}
		if tok.AccessToken == "" || tok.RefreshToken != "" || tok.TokenType != "Bearer" {
			t.Errorf("token %+v", tok)
		}
	}
}
