// Package oauth is Sesame's OAuth 2 authorization server and OpenID
// Provider: the authorization code flow with PKCE, the token endpoint
// (authorization_code, refresh_token, client_credentials), revocation
// (RFC 7009), introspection (RFC 7662), userinfo, discovery (RFC 8414,
// OpenID Connect Discovery), RP-initiated logout and back-channel logout.
//
// The user's Sesame session is the single sign-on session: an
// authorization code, the tokens exchanged for it and every refresh are
// bound to it, so that when it ends (logout, revocation, block, expiry,
// refresh-token theft) every client's tokens stop working and every client
// registered for back-channel logout is told.
package oauth
