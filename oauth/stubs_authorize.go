package oauth

import "net/http"

// Stubs until the authorize, consent, end-session and metadata handlers
// are written; the file is deleted then.

func (p *Provider) handleAuthorize(w http.ResponseWriter, r *http.Request)  { http.NotFound(w, r) }
func (p *Provider) handleConsent(w http.ResponseWriter, r *http.Request)    { http.NotFound(w, r) }
func (p *Provider) handleEndSession(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }
func (p *Provider) handleMetadata(w http.ResponseWriter, r *http.Request)   { http.NotFound(w, r) }
