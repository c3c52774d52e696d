package oauth

import (
	"encoding/json"
	"net/http"

	"github.com/sesame-auth/sesame/jose"
)

// Metadata is the provider's metadata document, served at both
// /.well-known/openid-configuration (OpenID Connect Discovery 1.0 §3) and
// /.well-known/oauth-authorization-server (RFC 8414 §2).
type Metadata struct {
	Issuer                                     string   `json:"issuer"`
	AuthorizationEndpoint                      string   `json:"authorization_endpoint"`
	TokenEndpoint                              string   `json:"token_endpoint"`
	UserinfoEndpoint                           string   `json:"userinfo_endpoint"`
	JWKSURI                                    string   `json:"jwks_uri"`
	RevocationEndpoint                         string   `json:"revocation_endpoint"`
	IntrospectionEndpoint                      string   `json:"introspection_endpoint"`
	EndSessionEndpoint                         string   `json:"end_session_endpoint"`
	ResponseTypesSupported                     []string `json:"response_types_supported"`
	ResponseModesSupported                     []string `json:"response_modes_supported"`
	GrantTypesSupported                        []string `json:"grant_types_supported"`
	SubjectTypesSupported                      []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported           []string `json:"id_token_signing_alg_values_supported"`
	TokenEndpointAuthMethodsSupported          []string `json:"token_endpoint_auth_methods_supported"`
	TokenEndpointAuthSigningAlgValuesSupported []string `json:"token_endpoint_auth_signing_alg_values_supported"`
	RevocationEndpointAuthMethodsSupported     []string `json:"revocation_endpoint_auth_methods_supported"`
	RevocationEndpointAuthSigningAlgs          []string `json:"revocation_endpoint_auth_signing_alg_values_supported"`
	IntrospectionEndpointAuthMethodsSupported  []string `json:"introspection_endpoint_auth_methods_supported"`
	IntrospectionEndpointAuthSigningAlgs       []string `json:"introspection_endpoint_auth_signing_alg_values_supported"`
	CodeChallengeMethodsSupported              []string `json:"code_challenge_methods_supported"`
	ScopesSupported                            []string `json:"scopes_supported"`
	ClaimsSupported                            []string `json:"claims_supported"`
	PromptValuesSupported                      []string `json:"prompt_values_supported"`
	ACRValuesSupported                         []string `json:"acr_values_supported"`
	ClaimsParameterSupported                   bool     `json:"claims_parameter_supported"`
	RequestParameterSupported                  bool     `json:"request_parameter_supported"`
	RequestURIParameterSupported               bool     `json:"request_uri_parameter_supported"`
	RequireRequestURIRegistration              bool     `json:"require_request_uri_registration"`
	BackchannelLogoutSupported                 bool     `json:"backchannel_logout_supported"`
	BackchannelLogoutSessionSupported          bool     `json:"backchannel_logout_session_supported"`
	FrontchannelLogoutSupported                bool     `json:"frontchannel_logout_supported"`
	AuthorizationResponseISSParameterSupported bool     `json:"authorization_response_iss_parameter_supported"`
}

// clientAssertionAlgs are the algorithms accepted for private_key_jwt
// client assertions (RFC 7523): asymmetric only.
var clientAssertionAlgs = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

// Metadata returns the provider's metadata document.
func (p *Provider) Metadata() *Metadata {
	iss := p.cfg.Issuer
	var algs []string
	for _, a := range p.cfg.Keys.Algorithms() {
		if a != "" && !jose.Algorithm(a).Symmetric() {
			algs = append(algs, string(a))
		}
	}
	authMethods := []string{AuthClientSecretBasic, AuthClientSecretPost, AuthPrivateKeyJWT}
	return &Metadata{
		Issuer:                                     iss,
		AuthorizationEndpoint:                      iss + PathAuthorize,
		TokenEndpoint:                              iss + PathToken,
		UserinfoEndpoint:                           iss + PathUserinfo,
		JWKSURI:                                    iss + PathJWKS,
		RevocationEndpoint:                         iss + PathRevoke,
		IntrospectionEndpoint:                      iss + PathIntrospect,
		EndSessionEndpoint:                         iss + PathEndSession,
		ResponseTypesSupported:                     []string{"code"},
		ResponseModesSupported:                     []string{"query"},
		GrantTypesSupported:                        []string{GrantAuthorizationCode, GrantRefreshToken, GrantClientCredentials},
		SubjectTypesSupported:                      []string{"public"},
		IDTokenSigningAlgValuesSupported:           algs,
		TokenEndpointAuthMethodsSupported:          append(append([]string{}, authMethods...), AuthNone),
		TokenEndpointAuthSigningAlgValuesSupported: clientAssertionAlgs,
		RevocationEndpointAuthMethodsSupported:     append(append([]string{}, authMethods...), AuthNone),
		RevocationEndpointAuthSigningAlgs:          clientAssertionAlgs,
		IntrospectionEndpointAuthMethodsSupported:  authMethods,
		IntrospectionEndpointAuthSigningAlgs:       clientAssertionAlgs,
		CodeChallengeMethodsSupported:              []string{"S256"},
		ScopesSupported:                            append([]string{}, DefaultScopes...),
		ClaimsSupported: []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "azp",
			"sid", "at_hash", "preferred_username", "name", "updated_at", "groups"},
		PromptValuesSupported:                      []string{"none", "login", "consent", "select_account"},
		ACRValuesSupported:                         []string{"1", "2"},
		RequireRequestURIRegistration:              false,
		BackchannelLogoutSupported:                 true,
		BackchannelLogoutSessionSupported:          true,
		AuthorizationResponseISSParameterSupported: true,
	}
}

// handleMetadata serves the metadata document, readable from any origin
// (a browser-based relying party fetches it).
func (p *Provider) handleMetadata(w http.ResponseWriter, r *http.Request) {
	b, err := json.Marshal(p.Metadata())
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "public, max-age=300")
	h.Set("Access-Control-Allow-Origin", "*")
	w.Write(b)
}
