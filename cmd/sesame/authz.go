package main

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/authz"
	"github.com/sesame-auth/sesame/config"
)

func init() {
	register("authz", "try the access rules: which rule matches a request and what it decides", runAuthz)
}

func runAuthz(ctx context.Context, env *Env, args []string) error {
	return dispatch(ctx, env, "authz", map[string]subcommand{
		"test": {"print the rule that matches a request and the decision: sesame authz test --url URL [--method M] [--user NAME] [--ip IP]", authzTest},
	}, args)
}

const authzTestHelp = `
Decides a request with the deployment's access rules (access_rules in the
configuration file) as the forward-auth endpoint would, and prints the
cleaned path, the rule that matches (its index, the rule and its line) and
the decision: allow, login required, forbidden, or invalid request (a
malformed or ambiguous host or path, such as an encoded slash).

The request is anonymous unless --user names a user: then the user store is
opened to learn whether they are an administrator and their groups (a
blocked user counts as anonymous: none of their sessions is accepted).
--ip is the client's address, for rules with networks; without it such
rules do not match.

Exit status: 0 when the request is allowed; 1 when it is refused (login
required, forbidden, invalid) or the configuration or the user store could
not be read; 2 for a usage error or a user that does not exist.`

func authzTest(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "authz test", "sesame authz test --url URL [--method M] [--user NAME] [--ip IP] [--config FILE]", authzTestHelp)
	rawURL := fs.String("url", "", "the request's URL, as the browser sends it: https://wiki.example.com/admin?x=1 (required)")
	method := fs.String("method", "GET", "the request's method")
	userName := fs.String("user", "", "decide as this signed-in user (default: anonymous)")
	ipText := fs.String("ip", "", "the client's IP address (default none: rules with networks do not match)")
	d := addDeployFlags(fs, false)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError("authz test takes no arguments, got %q (give the URL with --url)", fs.Arg(0))
	}
	if *rawURL == "" {
		return usageError("authz test: --url is required")
	}
	host, path, err := splitRequestURL(*rawURL)
	if err != nil {
		return usageError("--url: %v", err)
	}
	var ip netip.Addr
	if *ipText != "" {
		if ip, err = netip.ParseAddr(*ipText); err != nil {
			return usageError("--ip: %q is not an IP address", *ipText)
		}
	}
	cfg, err := d.load()
	if err != nil {
		return err
	}
	rules, err := authz.Compile(cfg.AccessRules)
	if err != nil { // Load has checked them; kept for safety
		return failure("access_rules: %v", err)
	}
	printRuleWarnings(env, cfg)
	caller, who, err := authzCaller(ctx, env, d, *userName)
	if err != nil {
		return err
	}
	req := authz.Request{Host: host, Path: path, Method: *method, ClientIP: ip, Caller: caller}
	dec := rules.Decide(req)

	w := env.Stdout
	printf(w, "request:   %s %s\n", *method, *rawURL)
	if clean, err := authz.CleanPath(path); err == nil {
		printf(w, "path:      %s\n", clean)
	} else {
		printf(w, "path:      %s: refused (malformed or ambiguous)\n", path)
	}
	if ip.IsValid() {
		printf(w, "client:    %s\n", ip)
	} else {
		printf(w, "client:    no address (rules with networks do not match)\n")
	}
	printf(w, "user:      %s\n", who)
	switch {
	case dec.Rule >= 0:
		printf(w, "rule:      %d: %s (%s)\n", dec.Rule, rules.Rule(dec.Rule), ruleSource(cfg, dec.Rule))
	case dec.Outcome == authz.Invalid:
		printf(w, "rule:      none: the request is refused before any rule\n")
	case rules.Len() == 0:
		printf(w, "rule:      none: no access_rules configured (default deny)\n")
	default:
		printf(w, "rule:      none matches (default deny)\n")
	}
	printf(w, "decision:  %s\n", dec.Outcome)
	if dec.Outcome != authz.Allow {
		return &exitError{code: 1}
	}
	return nil
}

// splitRequestURL returns the host and the raw (still percent-encoded)
// path and query of an absolute http or https URL, without the fragment a
// browser never sends.
func splitRequestURL(raw string) (host, path string, err error) {
	rest := ""
	for _, scheme := range []string{"https://", "http://"} {
		if len(raw) >= len(scheme) && strings.EqualFold(raw[:len(scheme)], scheme) {
			rest = raw[len(scheme):]
		}
	}
	if rest == "" {
		return "", "", fmt.Errorf("%q: want an absolute http:// or https:// URL", raw)
	}
	rest, _, _ = strings.Cut(rest, "#")
	host, path = rest, "/"
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		host, path = rest[:i], rest[i:]
		if path[0] == '?' {
			path = "/" + path
		}
	}
	if host == "" || strings.Contains(host, "@") {
		return "", "", fmt.Errorf("%q: want a host without user information", raw)
	}
	return host, path, nil
}

// authzCaller returns the caller for name ("" for anonymous) and a line
// describing them. Only a named user opens the user store.
func authzCaller(ctx context.Context, env *Env, d *deployFlags, name string) (*authz.Caller, string, error) {
	if name == "" {
		return nil, "anonymous", nil
	}
	norm, err := sesame.NormalizeUsername(name)
	if err != nil {
		return nil, "", usageError("--user: %s", sesame.ErrorMessage(err))
	}
	a, err := d.open(ctx, env)
	if err != nil {
		return nil, "", err
	}
	defer a.Close()
	u, err := a.Accounts().Users.UserByName(ctx, norm)
	if errors.Is(err, sesame.ErrNotFound) {
		return nil, "", usageError("--user: no user %q", norm)
	}
	if err != nil {
		return nil, "", failure("read user %s: %s", norm, safeMessage(err))
	}
	if u.Blocked {
		return nil, u.Username + " (blocked: none of their sessions is accepted, so the request is anonymous)", nil
	}
	c := &authz.Caller{Name: u.Username, Admin: u.Admin, Groups: u.Groups}
	groups := "none"
	if len(c.Groups) > 0 {
		groups = strings.Join(c.Groups, ", ")
	}
	role := "user"
	if c.Admin {
		role = "administrator"
	}
	return c, fmt.Sprintf("%s (%s; groups: %s)", u.Username, role, groups), nil
}

// ruleSource names where rule i was written ("file sesame.yaml:14").
func ruleSource(cfg *config.Config, i int) string {
	key := fmt.Sprintf("access_rules[%d]", i)
	for _, s := range cfg.Settings() {
		if s.Key == key {
			return s.Source.String()
		}
	}
	return "unknown source"
}

// printRuleWarnings writes a warning on stderr for each access rule that
// can never match; they are not failures.
func printRuleWarnings(env *Env, cfg *config.Config) {
	for _, w := range cfg.AccessRulesWarnings() {
		fmt.Fprintf(env.Stderr, "warning: %s\n", w)
	}
}
