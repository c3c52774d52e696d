package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/jose"
	"github.com/sesame-auth/sesame/oauth"
)

// RunOAuth runs the conformance suite of oauth.Store. newStore is called
// once per subtest and must return an empty store that shares nothing with
// earlier calls:
//
//	func TestOAuthConformance(t *testing.T) {
//		storetest.RunOAuth(t, func(t *testing.T) oauth.Store { return memstore.New() })
//	}
//
// What the suite holds a store to, beyond the doc comments of oauth.Store:
//
//   - Times read back as the same instant to the nanosecond (every Sesame
//     store keeps unix nanoseconds); the zero time reads back as the zero
//     time.
//   - A nil and an empty slice are the same value: a store may return
//     either for an empty list or byte string.
//   - Client.FromConfig is never stored (a configured client is not in the
//     store): a client reads back with FromConfig false.
//   - A store never reads a clock. "Expired" is the caller's decision,
//     made when it calls DeleteExpiredOAuth with its now: a key recorded by
//     UseOnce is a replay (EConflict) until DeleteExpiredOAuth(now) with
//     now at or after its exp has removed it, and is usable again after
//     that. This fails closed when the caller's clock and the store's
//     disagree (a test clock, a skewed node).
//   - DeleteExpiredOAuth(now) removes codes whose ExpiresAt and keys whose
//     exp is at or before now, the same boundary as every other Sesame
//     expiry; RedeemCode redeems an expired code that is still stored.
//   - ClaimLogouts returns the records as they are after the claim (DueAt
//     = until, Attempts incremented), ordered by their DueAt before it
//     (ties by SessionID, then ClientID).
//   - AddLogoutTarget of a pair already stored changes nothing, not even
//     a due target's DueAt.
//   - SessionIDs and ClientIDs order as Go strings (bytewise).
func RunOAuth(t *testing.T, newStore func(t *testing.T) oauth.Store) {
	t.Helper()
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, s oauth.Store)
	}{
		{"Client/CreateAndRead", testClientCreateAndRead},
		{"Client/Duplicate", testClientDuplicate},
		{"Client/NotFound", testClientNotFound},
		{"Client/Update", testClientUpdate},
		{"Client/ListOrderedByID", testClientList},
		{"Client/CopiesInAndOut", testClientCopies},
		{"Client/DeleteRemovesConsentsAndTargets", testClientDelete},
		{"Code/CreateAndRedeem", testCodeCreateAndRedeem},
		{"Code/EmptyFields", testCodeEmptyFields},
		{"Code/Duplicate", testCodeDuplicate},
		{"Code/RedeemTwice", testCodeRedeemTwice},
		{"Code/RedeemUnknown", testCodeRedeemUnknown},
		{"Code/ConcurrentRedeemOneWinner", testCodeConcurrentRedeem},
		{"Code/CopiesInAndOut", testCodeCopies},
		{"Code/DeleteExpired", testCodeDeleteExpired},
		{"Consent/SaveAndRead", testConsentSaveAndRead},
		{"Consent/Replace", testConsentReplace},
		{"Consent/Delete", testConsentDelete},
		{"Consent/CopiesInAndOut", testConsentCopies},
		{"Logout/AddIdempotent", testLogoutAddIdempotent},
		{"Logout/SessionsEnded", testLogoutSessionsEnded},
		{"Logout/Claim", testLogoutClaim},
		{"Logout/ClaimGivenBackAtUntil", testLogoutClaimGivenBack},
		{"Logout/ConcurrentClaimsDisjoint", testLogoutConcurrentClaims},
		{"Logout/Retry", testLogoutRetry},
		{"Logout/Delete", testLogoutDelete},
		{"Logout/TargetsPaging", testLogoutTargetsPaging},
		{"Cursor", testCursor},
		{"UseOnce", testUseOnce},
		{"UseOnce/Concurrent", testUseOnceConcurrent},
	} {
		t.Run("OAuth/"+tc.name, func(t *testing.T) {
			tc.fn(t, newStore(t))
		})
	}
}

// nanoBase is base with nanosecond digits: every field of the OAuth store
// keeps them.
var nanoBase = base.Add(789 * time.Nanosecond)

func wantConflict(t *testing.T, what string, err error) {
	t.Helper()
	if sesame.ErrorCode(err) != sesame.EConflict {
		t.Fatalf("%s: got error %v, want code %s", what, err, sesame.EConflict)
	}
}

func sameStrings(a, b []string) bool { return len(a) == len(b) && (len(a) == 0 || slices.Equal(a, b)) }

func newClient(id string) *oauth.Client {
	_, hash := oauth.NewSecret()
	return &oauth.Client{
		ID: id, Name: "Wiki ü", SecretHash: hash, AuthMethod: oauth.AuthPrivateKeyJWT,
		JWKS:                   []byte(`{"keys":[{"kty":"EC","crv":"P-256","x":"x","y":"y"}]}`),
		RedirectURIs:           []string{"https://wiki.example.com/cb", "https://wiki.example.com/cb2?a=b c"},
		PostLogoutRedirectURIs: []string{"https://wiki.example.com/bye"},
		BackchannelLogoutURI:   "https://wiki.example.com/bcl",
		GrantTypes:             []string{oauth.GrantAuthorizationCode, oauth.GrantClientCredentials},
		Scopes:                 []string{"openid", "email"},
		Resources:              []string{"https://api.example.com"},
		FirstParty:             true, IDTokenAlg: jose.ES256,
		CreatedAt: nanoBase,
	}
}

func sameClient(t *testing.T, got, want *oauth.Client) {
	t.Helper()
	diff := func(f string, g, w any) { t.Fatalf("client %s: got %v, want %v", f, g, w) }
	switch {
	case got.ID != want.ID:
		diff("ID", got.ID, want.ID)
	case got.Name != want.Name:
		diff("Name", got.Name, want.Name)
	case got.Public != want.Public:
		diff("Public", got.Public, want.Public)
	case !bytes.Equal(got.SecretHash, want.SecretHash):
		diff("SecretHash", got.SecretHash, want.SecretHash)
	case got.AuthMethod != want.AuthMethod:
		diff("AuthMethod", got.AuthMethod, want.AuthMethod)
	case !bytes.Equal(got.JWKS, want.JWKS):
		diff("JWKS", string(got.JWKS), string(want.JWKS))
	case !sameStrings(got.RedirectURIs, want.RedirectURIs):
		diff("RedirectURIs", got.RedirectURIs, want.RedirectURIs)
	case !sameStrings(got.PostLogoutRedirectURIs, want.PostLogoutRedirectURIs):
		diff("PostLogoutRedirectURIs", got.PostLogoutRedirectURIs, want.PostLogoutRedirectURIs)
	case got.BackchannelLogoutURI != want.BackchannelLogoutURI:
		diff("BackchannelLogoutURI", got.BackchannelLogoutURI, want.BackchannelLogoutURI)
	case !sameStrings(got.GrantTypes, want.GrantTypes):
		diff("GrantTypes", got.GrantTypes, want.GrantTypes)
	case !sameStrings(got.Scopes, want.Scopes):
		diff("Scopes", got.Scopes, want.Scopes)
	case !sameStrings(got.Resources, want.Resources):
		diff("Resources", got.Resources, want.Resources)
	case got.FirstParty != want.FirstParty:
		diff("FirstParty", got.FirstParty, want.FirstParty)
	case got.IDTokenAlg != want.IDTokenAlg:
		diff("IDTokenAlg", got.IDTokenAlg, want.IDTokenAlg)
	case !got.CreatedAt.Equal(want.CreatedAt):
		diff("CreatedAt", got.CreatedAt, want.CreatedAt)
	case got.FromConfig:
		diff("FromConfig", true, false)
	}
}

func readClient(t *testing.T, s oauth.Store, id string) *oauth.Client {
	t.Helper()
	c, err := s.Client(ctx(), id)
	must(t, "Client", err)
	return c
}

func testClientCreateAndRead(t *testing.T, s oauth.Store) {
	c := newClient(randHex(8))
	must(t, "CreateClient", s.CreateClient(ctx(), c))
	sameClient(t, readClient(t, s, c.ID), c)

	// A public client with every optional field empty.
	p := &oauth.Client{ID: randHex(8), Public: true, CreatedAt: base}
	must(t, "CreateClient(public)", s.CreateClient(ctx(), p))
	sameClient(t, readClient(t, s, p.ID), p)

	// FromConfig is not stored.
	f := newClient(randHex(8))
	f.FromConfig = true
	must(t, "CreateClient(FromConfig)", s.CreateClient(ctx(), f))
	f.FromConfig = false
	sameClient(t, readClient(t, s, f.ID), f)
}

func testClientDuplicate(t *testing.T, s oauth.Store) {
	c := newClient(randHex(8))
	must(t, "CreateClient", s.CreateClient(ctx(), c))
	dup := newClient(c.ID)
	dup.Name, dup.RedirectURIs = "Mallory", []string{"https://evil.example/cb"}
	wantConflict(t, "CreateClient with an existing ID", s.CreateClient(ctx(), dup))
	sameClient(t, readClient(t, s, c.ID), c)
}

func testClientNotFound(t *testing.T, s oauth.Store) {
	_, err := s.Client(ctx(), "nobody")
	wantNotFound(t, "Client(unknown)", err)
	_, err = s.Client(ctx(), "")
	wantNotFound(t, `Client("")`, err)
	wantNotFound(t, "UpdateClient(unknown)", s.UpdateClient(ctx(), newClient("nobody")))
	if _, err := s.Client(ctx(), "nobody"); !errors.Is(err, sesame.ErrNotFound) {
		t.Fatalf("UpdateClient of a missing client created it: Client = %v", err)
	}
	must(t, "DeleteClient(unknown)", s.DeleteClient(ctx(), "nobody"))
	list, err := s.ListClients(ctx())
	must(t, "ListClients", err)
	if len(list) != 0 {
		t.Fatalf("ListClients of an empty store: got %d clients", len(list))
	}
}

func testClientUpdate(t *testing.T, s oauth.Store) {
	c := newClient(randHex(8))
	other := newClient(randHex(8))
	must(t, "CreateClient", s.CreateClient(ctx(), c))
	must(t, "CreateClient(other)", s.CreateClient(ctx(), other))
	u := &oauth.Client{ID: c.ID, Name: "Wiki 2", Public: true, AuthMethod: oauth.AuthNone,
		RedirectURIs: []string{"http://127.0.0.1/cb"}, IDTokenAlg: jose.RS256, CreatedAt: base.Add(time.Hour)}
	must(t, "UpdateClient", s.UpdateClient(ctx(), u))
	sameClient(t, readClient(t, s, c.ID), u)
	sameClient(t, readClient(t, s, other.ID), other)
}

func testClientList(t *testing.T, s oauth.Store) {
	ids := []string{"c", "B", "a", "b", "a0", "A"}
	for _, id := range ids {
		must(t, "CreateClient", s.CreateClient(ctx(), newClient(id)))
	}
	list, err := s.ListClients(ctx())
	must(t, "ListClients", err)
	var got []string
	for _, c := range list {
		got = append(got, c.ID)
	}
	want := slices.Clone(ids)
	slices.Sort(want) // bytewise: A B a a0 b c
	if !slices.Equal(got, want) {
		t.Fatalf("ListClients: got IDs %q, want %q", got, want)
	}
	for _, c := range list {
		sameClient(t, c, newClientWithID(c, c.ID))
	}
}

// newClientWithID is the client newClient(id) would have made, with got's
// secret hash (random): ListClients returns every field.
func newClientWithID(got *oauth.Client, id string) *oauth.Client {
	w := newClient(id)
	w.SecretHash = got.SecretHash
	return w
}

func testClientCopies(t *testing.T, s oauth.Store) {
	c := newClient(randHex(8))
	want := c.Clone()
	must(t, "CreateClient", s.CreateClient(ctx(), c))
	c.Name, c.RedirectURIs[0], c.SecretHash[0], c.Scopes[0] = "x", "https://evil.example/cb", c.SecretHash[0]^1, "admin"
	sameClient(t, readClient(t, s, want.ID), want)

	got := readClient(t, s, want.ID)
	got.RedirectURIs[0], got.SecretHash[0], got.JWKS[0], got.Resources[0] = "https://evil.example/cb", got.SecretHash[0]^1, 'x', "x"
	sameClient(t, readClient(t, s, want.ID), want)

	list, err := s.ListClients(ctx())
	must(t, "ListClients", err)
	list[0].RedirectURIs[0], list[0].GrantTypes[0] = "https://evil.example/cb", "x"
	sameClient(t, readClient(t, s, want.ID), want)

	u := want.Clone()
	u.Name = "updated"
	must(t, "UpdateClient", s.UpdateClient(ctx(), u))
	u.RedirectURIs[0] = "https://evil.example/cb"
	got = readClient(t, s, want.ID)
	if got.Name != "updated" || got.RedirectURIs[0] != want.RedirectURIs[0] {
		t.Fatalf("UpdateClient kept a reference to its argument: got %q %q", got.Name, got.RedirectURIs[0])
	}
}

func testClientDelete(t *testing.T, s oauth.Store) {
	c, keep := newClient(randHex(8)), newClient(randHex(8))
	must(t, "CreateClient", s.CreateClient(ctx(), c))
	must(t, "CreateClient", s.CreateClient(ctx(), keep))
	for _, id := range []string{c.ID, keep.ID} {
		must(t, "SaveConsent", s.SaveConsent(ctx(), newConsent("alice", id)))
		must(t, "SaveConsent", s.SaveConsent(ctx(), newConsent("bob", id)))
		must(t, "AddLogoutTarget", s.AddLogoutTarget(ctx(), newTarget("s1", id)))
		must(t, "AddLogoutTarget", s.AddLogoutTarget(ctx(), newTarget("s2", id)))
	}
	// A due target of the deleted client goes too.
	n, err := s.SessionsEnded(ctx(), []string{"s2"}, base)
	must(t, "SessionsEnded", err)
	if n != 2 {
		t.Fatalf("SessionsEnded: got %d, want 2", n)
	}

	must(t, "DeleteClient", s.DeleteClient(ctx(), c.ID))
	_, err = s.Client(ctx(), c.ID)
	wantNotFound(t, "Client after DeleteClient", err)
	for _, user := range []string{"alice", "bob"} {
		_, err = s.Consent(ctx(), user, c.ID)
		wantNotFound(t, "Consent of a deleted client", err)
		if _, err := s.Consent(ctx(), user, keep.ID); err != nil {
			t.Fatalf("Consent of another client after DeleteClient: %v", err)
		}
	}
	targets := allTargets(t, s)
	if len(targets) != 1 || targets[0].ClientID != keep.ID || targets[0].SessionID != "s1" {
		t.Fatalf("not-due targets after DeleteClient: got %v, want only (s1, %s)", targetKeys(targets), keep.ID)
	}
	claimed, err := s.ClaimLogouts(ctx(), base, base.Add(time.Minute), 100)
	must(t, "ClaimLogouts", err)
	if len(claimed) != 1 || claimed[0].ClientID != keep.ID {
		t.Fatalf("due targets after DeleteClient: got %v, want only (s2, %s)", targetKeys(claimed), keep.ID)
	}
	must(t, "DeleteClient again", s.DeleteClient(ctx(), c.ID))
	sameClient(t, readClient(t, s, keep.ID), keep)
	// The ID is free again.
	must(t, "CreateClient after DeleteClient", s.CreateClient(ctx(), newClient(c.ID)))
}

func newCode() *oauth.Code {
	return &oauth.Code{
		Hash: randHash(), ClientID: "wiki", UserID: "u1", SessionID: randHex(16),
		RedirectURI: "https://wiki.example.com/cb?x=1", Scope: "openid email",
		Resources: []string{"https://api.example.com", "https://issuer.example.com/oauth2/userinfo"},
		Nonce:     "n-0S6_WzA2Mj", CodeChallenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
		AuthTime: nanoBase.Add(-time.Minute), ACR: "1", AMR: []string{"pwd"},
		CreatedAt: nanoBase, ExpiresAt: nanoBase.Add(time.Minute),
	}
}

func sameCode(t *testing.T, got, want *oauth.Code) {
	t.Helper()
	if got == nil {
		t.Fatal("code: got nil")
	}
	g, w := *got, *want
	for _, p := range []struct {
		name string
		a, b time.Time
	}{{"AuthTime", g.AuthTime, w.AuthTime}, {"CreatedAt", g.CreatedAt, w.CreatedAt},
		{"ExpiresAt", g.ExpiresAt, w.ExpiresAt}, {"UsedAt", g.UsedAt, w.UsedAt}} {
		if !p.a.Equal(p.b) || p.a.IsZero() != p.b.IsZero() {
			t.Fatalf("code %s: got %v, want %v", p.name, p.a, p.b)
		}
	}
	if !sameStrings(g.Resources, w.Resources) {
		t.Fatalf("code Resources: got %q, want %q", g.Resources, w.Resources)
	}
	if !sameStrings(g.AMR, w.AMR) {
		t.Fatalf("code AMR: got %q, want %q", g.AMR, w.AMR)
	}
	type scalars struct {
		Hash                                                   [32]byte
		ClientID, UserID, SessionID, RedirectURI, Scope, Nonce string
		CodeChallenge, ACR                                     string
	}
	sc := func(c *oauth.Code) scalars {
		return scalars{c.Hash, c.ClientID, c.UserID, c.SessionID, c.RedirectURI, c.Scope, c.Nonce, c.CodeChallenge, c.ACR}
	}
	if sc(&g) != sc(&w) {
		t.Fatalf("code: got %+v, want %+v", g, w)
	}
}

func testCodeCreateAndRedeem(t *testing.T, s oauth.Store) {
	c := newCode()
	must(t, "CreateCode", s.CreateCode(ctx(), c))
	at := nanoBase.Add(10*time.Second + 1)
	got, err := s.RedeemCode(ctx(), c.Hash, at)
	must(t, "RedeemCode", err)
	want := *c
	want.UsedAt = at
	sameCode(t, got, &want)
}

func testCodeEmptyFields(t *testing.T, s oauth.Store) {
	c := &oauth.Code{Hash: randHash(), ClientID: "wiki", UserID: "u1", SessionID: "s1",
		RedirectURI: "https://wiki.example.com/cb", CreatedAt: base, ExpiresAt: base.Add(time.Minute)}
	must(t, "CreateCode", s.CreateCode(ctx(), c))
	got, err := s.RedeemCode(ctx(), c.Hash, base)
	must(t, "RedeemCode", err)
	want := *c
	want.UsedAt = base
	sameCode(t, got, &want)
}

func testCodeDuplicate(t *testing.T, s oauth.Store) {
	c := newCode()
	must(t, "CreateCode", s.CreateCode(ctx(), c))
	dup := newCode()
	dup.Hash, dup.ClientID, dup.RedirectURI = c.Hash, "mallory", "https://evil.example/cb"
	wantConflict(t, "CreateCode with an existing hash", s.CreateCode(ctx(), dup))
	got, err := s.RedeemCode(ctx(), c.Hash, base)
	must(t, "RedeemCode", err)
	want := *c
	want.UsedAt = base
	sameCode(t, got, &want)
}

// SEC-58: the second redemption of a code fails, and returns the code as
// the first redemption left it, so that the caller can revoke what it
// issued.
func testCodeRedeemTwice(t *testing.T, s oauth.Store) {
	c := newCode()
	must(t, "CreateCode", s.CreateCode(ctx(), c))
	first := nanoBase.Add(time.Second)
	_, err := s.RedeemCode(ctx(), c.Hash, first)
	must(t, "RedeemCode", err)
	for i := range 2 {
		got, err := s.RedeemCode(ctx(), c.Hash, first.Add(time.Duration(i+1)*time.Second))
		if !errors.Is(err, sesame.ErrConflict) {
			t.Fatalf("redemption %d: got %v, want an error wrapping sesame.ErrConflict", i+2, err)
		}
		want := *c
		want.UsedAt = first
		sameCode(t, got, &want)
	}
}

func testCodeRedeemUnknown(t *testing.T, s oauth.Store) {
	must(t, "CreateCode", s.CreateCode(ctx(), newCode()))
	got, err := s.RedeemCode(ctx(), randHash(), base)
	wantNotFound(t, "RedeemCode(unknown)", err)
	if got != nil {
		t.Fatalf("RedeemCode(unknown): got code %+v with the error", got)
	}
}

// SEC-58: N concurrent redemptions of one code, exactly one success; every
// loser learns the winner's time.
func testCodeConcurrentRedeem(t *testing.T, s oauth.Store) {
	c := newCode()
	must(t, "CreateCode", s.CreateCode(ctx(), c))
	const n = 32
	type result struct {
		at   time.Time
		code *oauth.Code
		err  error
	}
	results := make([]result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			at := nanoBase.Add(time.Duration(i+1) * time.Millisecond)
			code, err := s.RedeemCode(ctx(), c.Hash, at)
			results[i] = result{at, code, err}
		}()
	}
	wg.Wait()
	var winner *result
	for i := range results {
		if results[i].err == nil {
			if winner != nil {
				t.Fatalf("%d concurrent redemptions: more than one succeeded", n)
			}
			winner = &results[i]
		}
	}
	if winner == nil {
		t.Fatalf("%d concurrent redemptions: none succeeded (first error: %v)", n, results[0].err)
	}
	want := *c
	want.UsedAt = winner.at
	sameCode(t, winner.code, &want)
	for _, r := range results {
		if r.err == nil {
			continue
		}
		if !errors.Is(r.err, sesame.ErrConflict) {
			t.Fatalf("losing redemption: got %v, want an error wrapping sesame.ErrConflict", r.err)
		}
		sameCode(t, r.code, &want)
	}
}

func testCodeCopies(t *testing.T, s oauth.Store) {
	c := newCode()
	want := *c
	want.Resources, want.AMR = slices.Clone(c.Resources), slices.Clone(c.AMR)
	must(t, "CreateCode", s.CreateCode(ctx(), c))
	c.Resources[0], c.AMR[0], c.Scope = "https://evil.example", "x", "admin"
	got, err := s.RedeemCode(ctx(), want.Hash, base)
	must(t, "RedeemCode", err)
	want.UsedAt = base
	sameCode(t, got, &want)
	got.Resources[0], got.AMR[0], got.UsedAt = "https://evil.example", "x", time.Time{}
	again, err := s.RedeemCode(ctx(), want.Hash, base.Add(time.Second))
	if !errors.Is(err, sesame.ErrConflict) {
		t.Fatalf("second redemption: got %v, want sesame.ErrConflict", err)
	}
	sameCode(t, again, &want)
}

func testCodeDeleteExpired(t *testing.T, s oauth.Store) {
	now := nanoBase.Add(time.Hour)
	expired, atNow, live := newCode(), newCode(), newCode()
	expired.ExpiresAt, atNow.ExpiresAt, live.ExpiresAt = now.Add(-time.Second), now, now.Add(time.Nanosecond)
	used := newCode()
	used.ExpiresAt = now.Add(-time.Second)
	for _, c := range []*oauth.Code{expired, atNow, live, used} {
		must(t, "CreateCode", s.CreateCode(ctx(), c))
	}
	_, err := s.RedeemCode(ctx(), used.Hash, now.Add(-2*time.Second))
	must(t, "RedeemCode", err)
	// The store does not judge expiry: a stored, expired code is redeemed.
	_, err = s.RedeemCode(ctx(), expired.Hash, now.Add(time.Hour))
	must(t, "RedeemCode(expired, still stored)", err)
	must(t, "DeleteExpiredOAuth", s.DeleteExpiredOAuth(ctx(), now))
	for name, c := range map[string]*oauth.Code{"expired": expired, "expiring at now": atNow, "used, expired": used} {
		_, err := s.RedeemCode(ctx(), c.Hash, now)
		wantNotFound(t, "RedeemCode("+name+") after DeleteExpiredOAuth", err)
	}
	if _, err := s.RedeemCode(ctx(), live.Hash, now); err != nil {
		t.Fatalf("RedeemCode(live) after DeleteExpiredOAuth: %v", err)
	}
}

func newConsent(user, client string) *oauth.Consent {
	return &oauth.Consent{UserID: user, ClientID: client, Scopes: []string{"openid", "email"}, GrantedAt: nanoBase}
}

func sameConsent(t *testing.T, got, want *oauth.Consent) {
	t.Helper()
	if got.UserID != want.UserID || got.ClientID != want.ClientID || !sameStrings(got.Scopes, want.Scopes) ||
		!got.GrantedAt.Equal(want.GrantedAt) {
		t.Fatalf("consent: got %+v, want %+v", *got, *want)
	}
}

func readConsent(t *testing.T, s oauth.Store, user, client string) *oauth.Consent {
	t.Helper()
	c, err := s.Consent(ctx(), user, client)
	must(t, "Consent", err)
	return c
}

func testConsentSaveAndRead(t *testing.T, s oauth.Store) {
	_, err := s.Consent(ctx(), "alice", "wiki")
	wantNotFound(t, "Consent(none)", err)
	c := newConsent("alice", "wiki")
	must(t, "SaveConsent", s.SaveConsent(ctx(), c))
	sameConsent(t, readConsent(t, s, "alice", "wiki"), c)
	_, err = s.Consent(ctx(), "alice", "blog")
	wantNotFound(t, "Consent(other client)", err)
	_, err = s.Consent(ctx(), "bob", "wiki")
	wantNotFound(t, "Consent(other user)", err)
	empty := &oauth.Consent{UserID: "bob", ClientID: "wiki", GrantedAt: base}
	must(t, "SaveConsent(no scope)", s.SaveConsent(ctx(), empty))
	sameConsent(t, readConsent(t, s, "bob", "wiki"), empty)
}

func testConsentReplace(t *testing.T, s oauth.Store) {
	must(t, "SaveConsent", s.SaveConsent(ctx(), newConsent("alice", "wiki")))
	must(t, "SaveConsent(other)", s.SaveConsent(ctx(), newConsent("alice", "blog")))
	c := &oauth.Consent{UserID: "alice", ClientID: "wiki", Scopes: []string{"openid", "profile", "groups"}, GrantedAt: base.Add(time.Hour)}
	must(t, "SaveConsent(replace)", s.SaveConsent(ctx(), c))
	sameConsent(t, readConsent(t, s, "alice", "wiki"), c)
	sameConsent(t, readConsent(t, s, "alice", "blog"), newConsent("alice", "blog"))
}

func testConsentDelete(t *testing.T, s oauth.Store) {
	must(t, "SaveConsent", s.SaveConsent(ctx(), newConsent("alice", "wiki")))
	must(t, "SaveConsent(other)", s.SaveConsent(ctx(), newConsent("alice", "blog")))
	must(t, "DeleteConsent", s.DeleteConsent(ctx(), "alice", "wiki"))
	_, err := s.Consent(ctx(), "alice", "wiki")
	wantNotFound(t, "Consent after DeleteConsent", err)
	sameConsent(t, readConsent(t, s, "alice", "blog"), newConsent("alice", "blog"))
	must(t, "DeleteConsent again", s.DeleteConsent(ctx(), "alice", "wiki"))
	must(t, "DeleteConsent(none)", s.DeleteConsent(ctx(), "nobody", "nothing"))
}

func testConsentCopies(t *testing.T, s oauth.Store) {
	c := newConsent("alice", "wiki")
	must(t, "SaveConsent", s.SaveConsent(ctx(), c))
	c.Scopes[0] = "admin"
	want := newConsent("alice", "wiki")
	got := readConsent(t, s, "alice", "wiki")
	sameConsent(t, got, want)
	got.Scopes[0] = "admin"
	sameConsent(t, readConsent(t, s, "alice", "wiki"), want)
}

func newTarget(session, client string) *oauth.LogoutTarget {
	return &oauth.LogoutTarget{SessionID: session, ClientID: client, UserID: "u-" + session, CreatedAt: nanoBase}
}

func sameTarget(t *testing.T, got, want *oauth.LogoutTarget) {
	t.Helper()
	if got.SessionID != want.SessionID || got.ClientID != want.ClientID || got.UserID != want.UserID ||
		!got.CreatedAt.Equal(want.CreatedAt) || !got.DueAt.Equal(want.DueAt) || got.DueAt.IsZero() != want.DueAt.IsZero() ||
		got.Attempts != want.Attempts || got.LastError != want.LastError {
		t.Fatalf("logout target: got %+v, want %+v", *got, *want)
	}
}

func targetKeys(ts []*oauth.LogoutTarget) []string {
	var out []string
	for _, x := range ts {
		out = append(out, x.SessionID+"/"+x.ClientID)
	}
	return out
}

// allTargets returns every target not yet due.
func allTargets(t *testing.T, s oauth.Store) []*oauth.LogoutTarget {
	t.Helper()
	out, err := s.LogoutTargets(ctx(), "", 100000)
	must(t, "LogoutTargets", err)
	return out
}

func testLogoutAddIdempotent(t *testing.T, s oauth.Store) {
	x := newTarget("s1", "wiki")
	must(t, "AddLogoutTarget", s.AddLogoutTarget(ctx(), x))
	again := newTarget("s1", "wiki")
	again.UserID, again.CreatedAt = "mallory", base.Add(time.Hour)
	must(t, "AddLogoutTarget again", s.AddLogoutTarget(ctx(), again))
	must(t, "AddLogoutTarget(other client)", s.AddLogoutTarget(ctx(), newTarget("s1", "blog")))
	got := allTargets(t, s)
	if len(got) != 2 {
		t.Fatalf("LogoutTargets: got %v, want s1/blog and s1/wiki", targetKeys(got))
	}
	sameTarget(t, got[0], newTarget("s1", "blog"))
	sameTarget(t, got[1], x)

	// Adding a due target again does not make it not due.
	n, err := s.SessionsEnded(ctx(), []string{"s1"}, base)
	must(t, "SessionsEnded", err)
	if n != 2 {
		t.Fatalf("SessionsEnded: got %d, want 2", n)
	}
	must(t, "AddLogoutTarget(due)", s.AddLogoutTarget(ctx(), newTarget("s1", "wiki")))
	if got := allTargets(t, s); len(got) != 0 {
		t.Fatalf("LogoutTargets after SessionsEnded and a second Add: got %v, want none", targetKeys(got))
	}
	claimed, err := s.ClaimLogouts(ctx(), base, base.Add(time.Minute), 10)
	must(t, "ClaimLogouts", err)
	if len(claimed) != 2 {
		t.Fatalf("ClaimLogouts: got %v, want both targets of s1", targetKeys(claimed))
	}
}

func testLogoutSessionsEnded(t *testing.T, s oauth.Store) {
	for _, k := range [][2]string{{"s1", "wiki"}, {"s1", "blog"}, {"s2", "wiki"}, {"s3", "wiki"}} {
		must(t, "AddLogoutTarget", s.AddLogoutTarget(ctx(), newTarget(k[0], k[1])))
	}
	n, err := s.SessionsEnded(ctx(), nil, base)
	must(t, "SessionsEnded(none)", err)
	if n != 0 {
		t.Fatalf("SessionsEnded(nil): got %d, want 0", n)
	}
	at := nanoBase.Add(time.Minute)
	n, err = s.SessionsEnded(ctx(), []string{"s1", "s2", "unknown", "s1"}, at)
	must(t, "SessionsEnded", err)
	if n != 3 {
		t.Fatalf("SessionsEnded(s1, s2): got %d, want 3", n)
	}
	n, err = s.SessionsEnded(ctx(), []string{"s1", "s2"}, at.Add(time.Hour))
	must(t, "SessionsEnded again", err)
	if n != 0 {
		t.Fatalf("SessionsEnded again: got %d, want 0 (idempotent)", n)
	}
	n, err = s.SessionsEnded(ctx(), []string{"s2", "s3"}, at.Add(time.Hour))
	must(t, "SessionsEnded(s2, s3)", err)
	if n != 1 {
		t.Fatalf("SessionsEnded(s2, s3) after s2 ended: got %d, want 1", n)
	}
	// The second call did not move s1's or s2's DueAt.
	claimed, err := s.ClaimLogouts(ctx(), at, at.Add(time.Minute), 10)
	must(t, "ClaimLogouts", err)
	if got := targetKeys(claimed); !slices.Equal(got, []string{"s1/blog", "s1/wiki", "s2/wiki"}) {
		t.Fatalf("ClaimLogouts at the first end: got %v, want s1/blog s1/wiki s2/wiki", got)
	}
	if rest := allTargets(t, s); len(rest) != 0 {
		t.Fatalf("not-due targets after every session ended: %v", targetKeys(rest))
	}
}

func testLogoutClaim(t *testing.T, s oauth.Store) {
	now := nanoBase.Add(time.Hour)
	// Ended at different times: s3 first, then s1, s2; s4 ends after now;
	// s5 lives.
	ends := []struct {
		session string
		at      time.Time
	}{{"s3", now.Add(-3 * time.Minute)}, {"s1", now.Add(-2 * time.Minute)}, {"s2", now}, {"s4", now.Add(time.Nanosecond)}}
	for _, id := range []string{"s1", "s2", "s3", "s4", "s5"} {
		must(t, "AddLogoutTarget", s.AddLogoutTarget(ctx(), newTarget(id, "wiki")))
	}
	for _, e := range ends {
		_, err := s.SessionsEnded(ctx(), []string{e.session}, e.at)
		must(t, "SessionsEnded", err)
	}
	none, err := s.ClaimLogouts(ctx(), now.Add(-time.Hour), now, 10)
	must(t, "ClaimLogouts(before any is due)", err)
	if len(none) != 0 {
		t.Fatalf("ClaimLogouts before any is due: got %v", targetKeys(none))
	}
	until := now.Add(30 * time.Second)
	first, err := s.ClaimLogouts(ctx(), now, until, 2)
	must(t, "ClaimLogouts", err)
	if got := targetKeys(first); !slices.Equal(got, []string{"s3/wiki", "s1/wiki"}) {
		t.Fatalf("ClaimLogouts(limit 2): got %v, want the earliest due: s3/wiki s1/wiki", got)
	}
	for _, x := range first {
		want := newTarget(x.SessionID, "wiki")
		want.DueAt, want.Attempts = until, 1
		sameTarget(t, x, want)
	}
	second, err := s.ClaimLogouts(ctx(), now, until, 10)
	must(t, "ClaimLogouts", err)
	if got := targetKeys(second); !slices.Equal(got, []string{"s2/wiki"}) {
		t.Fatalf("second ClaimLogouts: got %v, want s2/wiki (due exactly now) only", got)
	}
	third, err := s.ClaimLogouts(ctx(), now, until, 10)
	must(t, "ClaimLogouts", err)
	if len(third) != 0 {
		t.Fatalf("third ClaimLogouts: got %v, want nothing (all claimed or not due)", targetKeys(third))
	}
	if rest := allTargets(t, s); !slices.Equal(targetKeys(rest), []string{"s5/wiki"}) {
		t.Fatalf("not-due targets: got %v, want s5/wiki", targetKeys(rest))
	}
}

// A dispatcher that dies holding a claim gives it back at until.
func testLogoutClaimGivenBack(t *testing.T, s oauth.Store) {
	must(t, "AddLogoutTarget", s.AddLogoutTarget(ctx(), newTarget("s1", "wiki")))
	_, err := s.SessionsEnded(ctx(), []string{"s1"}, base)
	must(t, "SessionsEnded", err)
	due := base
	for attempt := 1; attempt <= 3; attempt++ {
		if attempt > 1 {
			got, err := s.ClaimLogouts(ctx(), due.Add(-time.Nanosecond), due.Add(time.Minute), 10)
			must(t, "ClaimLogouts", err)
			if len(got) != 0 {
				t.Fatalf("claim %d before the previous claim ended: got %v", attempt, targetKeys(got))
			}
		}
		got, err := s.ClaimLogouts(ctx(), due, due.Add(time.Minute), 10)
		must(t, "ClaimLogouts", err)
		if len(got) != 1 {
			t.Fatalf("claim %d: got %v, want s1/wiki", attempt, targetKeys(got))
		}
		want := newTarget("s1", "wiki")
		want.DueAt, want.Attempts = due.Add(time.Minute), attempt
		sameTarget(t, got[0], want)
		due = due.Add(time.Minute)
	}
}

// Two dispatchers never claim the same target at once.
func testLogoutConcurrentClaims(t *testing.T, s oauth.Store) {
	const targets, workers = 400, 8
	for i := range targets {
		must(t, "AddLogoutTarget", s.AddLogoutTarget(ctx(), newTarget(fmt.Sprintf("s%03d", i), "wiki")))
	}
	var ids []string
	for i := range targets {
		ids = append(ids, fmt.Sprintf("s%03d", i))
	}
	n, err := s.SessionsEnded(ctx(), ids, base)
	must(t, "SessionsEnded", err)
	if n != targets {
		t.Fatalf("SessionsEnded: got %d, want %d", n, targets)
	}
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for {
				got, err := s.ClaimLogouts(ctx(), base, base.Add(time.Hour), 3)
				if err != nil {
					t.Errorf("concurrent ClaimLogouts: %v", err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, x := range got {
					seen[x.SessionID]++
				}
				mu.Unlock()
			}
		}()
	}
	close(start)
	wg.Wait()
	if len(seen) != targets {
		t.Fatalf("%d concurrent dispatchers claimed %d distinct targets, want %d", workers, len(seen), targets)
	}
	for id, k := range seen {
		if k != 1 {
			t.Fatalf("target %s/wiki was claimed %d times", id, k)
		}
	}
}

func testLogoutRetry(t *testing.T, s oauth.Store) {
	must(t, "AddLogoutTarget", s.AddLogoutTarget(ctx(), newTarget("s1", "wiki")))
	must(t, "AddLogoutTarget", s.AddLogoutTarget(ctx(), newTarget("s2", "wiki")))
	_, err := s.SessionsEnded(ctx(), []string{"s1", "s2"}, base)
	must(t, "SessionsEnded", err)
	claimed, err := s.ClaimLogouts(ctx(), base, base.Add(time.Minute), 10)
	must(t, "ClaimLogouts", err)
	if len(claimed) != 2 {
		t.Fatalf("ClaimLogouts: got %v", targetKeys(claimed))
	}
	due := nanoBase.Add(10 * time.Second)
	must(t, "RetryLogout", s.RetryLogout(ctx(), "s1", "wiki", due, "POST: 503 Service Unavailable"))
	must(t, "RetryLogout(missing)", s.RetryLogout(ctx(), "nobody", "wiki", due, "x"))
	got, err := s.ClaimLogouts(ctx(), due.Add(-time.Nanosecond), base.Add(time.Hour), 10)
	must(t, "ClaimLogouts before the retry is due", err)
	if len(got) != 0 {
		t.Fatalf("ClaimLogouts before the retry is due: got %v", targetKeys(got))
	}
	got, err = s.ClaimLogouts(ctx(), due, base.Add(time.Hour), 10)
	must(t, "ClaimLogouts", err)
	if len(got) != 1 {
		t.Fatalf("ClaimLogouts when the retry is due: got %v, want s1/wiki", targetKeys(got))
	}
	want := newTarget("s1", "wiki")
	want.DueAt, want.Attempts, want.LastError = base.Add(time.Hour), 2, "POST: 503 Service Unavailable"
	sameTarget(t, got[0], want)
	if rest := allTargets(t, s); len(rest) != 0 {
		t.Fatalf("RetryLogout(missing) created a target: %v", targetKeys(rest))
	}
}

func testLogoutDelete(t *testing.T, s oauth.Store) {
	must(t, "AddLogoutTarget", s.AddLogoutTarget(ctx(), newTarget("s1", "wiki")))
	must(t, "AddLogoutTarget", s.AddLogoutTarget(ctx(), newTarget("s1", "blog")))
	must(t, "AddLogoutTarget", s.AddLogoutTarget(ctx(), newTarget("s2", "wiki")))
	_, err := s.SessionsEnded(ctx(), []string{"s1"}, base)
	must(t, "SessionsEnded", err)
	must(t, "DeleteLogout(due)", s.DeleteLogout(ctx(), "s1", "wiki"))
	must(t, "DeleteLogout(not due)", s.DeleteLogout(ctx(), "s2", "wiki"))
	must(t, "DeleteLogout again", s.DeleteLogout(ctx(), "s1", "wiki"))
	must(t, "DeleteLogout(missing)", s.DeleteLogout(ctx(), "nobody", "wiki"))
	got, err := s.ClaimLogouts(ctx(), base, base.Add(time.Minute), 10)
	must(t, "ClaimLogouts", err)
	if !slices.Equal(targetKeys(got), []string{"s1/blog"}) {
		t.Fatalf("ClaimLogouts after DeleteLogout: got %v, want s1/blog", targetKeys(got))
	}
	if rest := allTargets(t, s); len(rest) != 0 {
		t.Fatalf("LogoutTargets after DeleteLogout: got %v, want none", targetKeys(rest))
	}
	// A deleted pair can be added again.
	must(t, "AddLogoutTarget after DeleteLogout", s.AddLogoutTarget(ctx(), newTarget("s2", "wiki")))
	if rest := allTargets(t, s); !slices.Equal(targetKeys(rest), []string{"s2/wiki"}) {
		t.Fatalf("LogoutTargets after a new Add: got %v", targetKeys(rest))
	}
}

func testLogoutTargetsPaging(t *testing.T, s oauth.Store) {
	keys := [][2]string{{"b", "wiki"}, {"a", "wiki"}, {"a", "blog"}, {"B", "wiki"}, {"c", "wiki"}, {"d", "wiki"}, {"a0", "x"}}
	for _, k := range keys {
		must(t, "AddLogoutTarget", s.AddLogoutTarget(ctx(), newTarget(k[0], k[1])))
	}
	_, err := s.SessionsEnded(ctx(), []string{"c"}, nanoBase.Add(time.Hour)) // due later: still excluded
	must(t, "SessionsEnded", err)

	page := func(after string, limit int) []string {
		t.Helper()
		got, err := s.LogoutTargets(ctx(), after, limit)
		must(t, "LogoutTargets", err)
		for _, x := range got {
			want := newTarget(x.SessionID, x.ClientID)
			sameTarget(t, x, want)
		}
		return targetKeys(got)
	}
	for _, tc := range []struct {
		after string
		limit int
		want  []string
	}{
		{"", 100, []string{"B/wiki", "a/blog", "a/wiki", "a0/x", "b/wiki", "d/wiki"}},
		{"", 2, []string{"B/wiki", "a/blog"}},
		{"B", 2, []string{"a/blog", "a/wiki"}},
		{"a", 2, []string{"a0/x", "b/wiki"}},
		{"a0", 100, []string{"b/wiki", "d/wiki"}},
		{"b", 100, []string{"d/wiki"}},
		{"d", 100, nil},
		{"zzz", 100, nil},
	} {
		if got := page(tc.after, tc.limit); !slices.Equal(got, tc.want) {
			t.Fatalf("LogoutTargets(after %q, limit %d): got %v, want %v", tc.after, tc.limit, got, tc.want)
		}
	}
}

func testCursor(t *testing.T, s oauth.Store) {
	pos, err := s.Cursor(ctx(), "backchannel")
	must(t, "Cursor(none)", err)
	if pos != 0 {
		t.Fatalf("Cursor(none): got %d, want 0", pos)
	}
	must(t, "SetCursor", s.SetCursor(ctx(), "backchannel", 42))
	must(t, "SetCursor(other)", s.SetCursor(ctx(), "other", 1<<62))
	must(t, "SetCursor again", s.SetCursor(ctx(), "backchannel", 7)) // any value, even lower
	for name, want := range map[string]int64{"backchannel": 7, "other": 1 << 62, "third": 0} {
		pos, err := s.Cursor(ctx(), name)
		must(t, "Cursor", err)
		if pos != want {
			t.Fatalf("Cursor(%s): got %d, want %d", name, pos, want)
		}
	}
}

func testUseOnce(t *testing.T, s oauth.Store) {
	exp := nanoBase.Add(5 * time.Minute)
	key := "wiki\x00" + randHex(16)
	must(t, "UseOnce", s.UseOnce(ctx(), key, exp))
	wantConflict(t, "UseOnce(replay)", s.UseOnce(ctx(), key, exp))
	wantConflict(t, "UseOnce(replay, later exp)", s.UseOnce(ctx(), key, exp.Add(time.Hour)))
	must(t, "UseOnce(other key)", s.UseOnce(ctx(), key+"x", exp.Add(time.Hour)))
	// Not yet expired at exp - 1ns: still a replay.
	must(t, "DeleteExpiredOAuth", s.DeleteExpiredOAuth(ctx(), exp.Add(-time.Nanosecond)))
	wantConflict(t, "UseOnce(replay) before exp", s.UseOnce(ctx(), key, exp))
	// Expired at exp: usable again.
	must(t, "DeleteExpiredOAuth", s.DeleteExpiredOAuth(ctx(), exp))
	must(t, "UseOnce after exp", s.UseOnce(ctx(), key, exp.Add(5*time.Minute)))
	wantConflict(t, "UseOnce(replay) of the new use", s.UseOnce(ctx(), key, exp.Add(5*time.Minute)))
	wantConflict(t, "UseOnce(other key) not expired", s.UseOnce(ctx(), key+"x", exp))
}

// SEC-58: of concurrent uses of one assertion, exactly one is accepted.
func testUseOnceConcurrent(t *testing.T, s oauth.Store) {
	const n = 16
	key := "wiki\x00" + randHex(16)
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.UseOnce(ctx(), key, base.Add(time.Minute))
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case sesame.ErrorCode(err) != sesame.EConflict:
			t.Fatalf("concurrent UseOnce: got %v, want nil or EConflict", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d concurrent UseOnce: %d accepted, want 1", n, ok)
	}
}
