package app

import (
	"github.com/sesame-auth/sesame/authz"
	"github.com/sesame-auth/sesame/server"
)

// forwardConfig is the server's forward-auth configuration: the compiled
// access rules, the identity header names, the assertion (signed with the
// keyring, like access tokens) and the return domains of the login page.
func (a *App) forwardConfig(issuer string) (server.ForwardConfig, error) {
	c := a.cfg
	rules, err := authz.Compile(c.AccessRules)
	if err != nil {
		return server.ForwardConfig{}, err
	}
	return server.ForwardConfig{
		Rules: rules,
		Headers: server.ForwardHeaders{User: c.ForwardHeader("user"), Groups: c.ForwardHeader("groups"),
			Name: c.ForwardHeader("name"), Email: c.ForwardHeader("email")},
		Assertion:     c.ForwardAssertion,
		Keys:          a.ring,
		Issuer:        issuer,
		ReturnDomains: c.EffectiveReturnDomains(),
	}, nil
}
