package oauth

import "net/http"

// Stubs until the token, revocation, introspection and userinfo handlers
// are written; the file is deleted then.

func (p *Provider) handleToken(w http.ResponseWriter, r *http.Request)      { http.NotFound(w, r) }
func (p *Provider) handleRevoke(w http.ResponseWriter, r *http.Request)     { http.NotFound(w, r) }
func (p *Provider) handleIntrospect(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }
func (p *Provider) handleUserinfo(w http.ResponseWriter, r *http.Request)   { http.NotFound(w, r) }
