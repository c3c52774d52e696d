package server

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/account"
)

// adminPageSize is how many users one page of the admin table shows.
const adminPageSize = 50

// adminView is what the admin pages (admin.html, adminuser.html,
// confirm.html) show.
type adminView struct {
	Query   string // the username prefix searched for
	After   string // the page starts after this username
	Next    string // the link to the next page; empty on the last
	First   string // the link to the first page; empty on it
	Subject *sesame.PublicUser
	Self    bool   // the subject is the administrator looking
	Groups  string // the subject's groups, "a, b"
	Devices []deviceView
	Confirm *confirmView
	Factors *factorsView // the subject's second factors; nil without them
}

// confirmView is the confirm step of an admin action: what will happen,
// and the POST form that does it.
type confirmView struct {
	Action  string // the POST path
	Heading string
	What    []string // sentences: what will happen
	Button  string
	Danger  bool
	Groups  *string // the groups field to post, for "groups"
	// Required is the required field to post ("1" or "0"), for
	// "factors-require" and "factors-optional".
	Required string
	Back     string
}

// handleAdminPage is GET /admin[?q=prefix][&after=username]: one page of
// users whose name starts with q, in username order, from the username
// index (SearchUsers), so a page is as fast at 100,000 users as at 10.
func (s *Server) handleAdminPage(w http.ResponseWriter, r *http.Request) {
	u, err := s.admin(r)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	q := r.URL.Query()
	v := &adminView{Query: searchPrefix(q.Get("q")), After: truncate(q.Get("after"), 64)}
	users, err := s.accounts.Users.SearchUsers(r.Context(), v.Query, v.After, adminPageSize+1)
	if err != nil {
		s.renderError(w, r, sesame.Wrap(sesame.EUnavailable, err, "user store unavailable"))
		return
	}
	pu := u.Public()
	d := pageData{Title: "Users", Nav: "admin", User: &pu, Notice: noticeText(q.Get("done")), Admin: v}
	if len(users) > adminPageSize {
		users = users[:adminPageSize]
		v.Next = adminListURL(v.Query, users[len(users)-1].Username)
	}
	if v.After != "" {
		v.First = adminListURL(v.Query, "")
	}
	for _, x := range users {
		d.Users = append(d.Users, x.Public())
	}
	if d.Clients, err = s.adminClients(r.Context()); err != nil {
		s.renderError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "admin", d)
}

// searchPrefix is the admin search box's text as a username prefix:
// trimmed, lower case (usernames are stored normalised), at most 64 bytes.
func searchPrefix(q string) string {
	return truncate(strings.ToLower(strings.TrimSpace(q)), 64)
}

func adminListURL(prefix, after string) string {
	v := url.Values{}
	if prefix != "" {
		v.Set("q", prefix)
	}
	if after != "" {
		v.Set("after", after)
	}
	if len(v) == 0 {
		return "/admin"
	}
	return "/admin?" + v.Encode()
}

// adminSubject is the user named in the path, for an administrator.
func (s *Server) adminSubject(r *http.Request) (admin, subject *sesame.User, err error) {
	if admin, err = s.admin(r); err != nil {
		return nil, nil, err
	}
	if subject, err = s.accounts.Lookup(r.Context(), r.PathValue("username")); err != nil {
		return nil, nil, err
	}
	return admin, subject, nil
}

// handleAdminUserPage is GET /admin/users/{username}: the user's details,
// groups, sessions (as devices), and the actions, each behind a confirm
// step.
func (s *Server) handleAdminUserPage(w http.ResponseWriter, r *http.Request) {
	admin, sub, err := s.adminSubject(r)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	list, err := s.sessions.List(r.Context(), sub.ID)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	pa, ps := admin.Public(), sub.Public()
	v := &adminView{Subject: &ps, Self: admin.ID == sub.ID, Groups: strings.Join(sub.Groups, ", ")}
	now := sesame.ClockOrSystem(s.accounts.Clock).Now()
	p, _ := s.principal(r)
	for _, x := range list {
		v.Devices = append(v.Devices, describeSession(x.Info(p != nil && x.ID == p.SessionID), now))
	}
	sortDevices(v.Devices)
	if s.cfg.Factors != nil {
		if v.Factors, err = s.factorsOf(r, sub); err != nil {
			s.renderError(w, r, err)
			return
		}
	}
	d := pageData{Title: "User " + sub.Username, Nav: "admin", User: &pa, Admin: v, Notice: noticeText(r.URL.Query().Get("done"))}
	s.render(w, r, http.StatusOK, "adminuser", d)
}

// handleAdminConfirmPage is GET /admin/users/{username}/confirm/{action}:
// the confirm step (no script) of block, unblock, signout, groups,
// reset-link and verify-email. It changes nothing: its form does.
func (s *Server) handleAdminConfirmPage(w http.ResponseWriter, r *http.Request) {
	admin, sub, err := s.adminSubject(r)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	name := sub.Username
	base := "/admin/users/" + url.PathEscape(name)
	c := &confirmView{Back: base}
	switch r.PathValue("action") {
	case "block":
		if admin.ID == sub.ID {
			s.renderError(w, r, sesame.Errorf(sesame.EForbidden, "you cannot block your own account"))
			return
		}
		c.Action, c.Heading, c.Button, c.Danger = base+"/block", "Block "+name+"?", "Block "+name, true
		c.What = []string{name + " will be signed out everywhere at once: every session, and every token bound to one.",
			name + " will not be able to sign in until unblocked."}
	case "unblock":
		c.Action, c.Heading, c.Button = base+"/unblock", "Unblock "+name+"?", "Unblock "+name
		c.What = []string{name + " will be able to sign in again. Sessions that were ended stay ended."}
	case "signout":
		c.Action, c.Heading, c.Button, c.Danger = base+"/signout", "Sign "+name+" out everywhere?", "Sign out everywhere", true
		c.What = []string{"Every session of " + name + " ends now, on every device, with the tokens bound to them.",
			name + " can sign in again."}
		if admin.ID == sub.ID {
			c.What = append(c.What, "This includes your own session in this browser.")
		}
	case "groups":
		groups := strings.Join(strings.FieldsFunc(r.URL.Query().Get("groups"), func(c rune) bool { return c == ',' || c == ' ' || c == '\t' || c == '\r' || c == '\n' }), ", ")
		groups = truncate(groups, 4200)
		c.Action, c.Heading, c.Button, c.Groups = base+"/groups", "Change the groups of "+name+"?", "Save groups", &groups
		was := strings.Join(sub.Groups, ", ")
		if was == "" {
			was = "none"
		}
		now := groups
		if now == "" {
			now = "none"
		}
		c.What = []string{"Groups now: " + was + ".", "Groups after: " + now + ".",
			"Access tokens already issued keep their groups claim until they expire."}
	case "reset-link", "verify-email":
		if s.mail == nil {
			s.renderError(w, r, sesame.Errorf(sesame.ENotFound, "mail is not configured"))
			return
		}
		if r.PathValue("action") == "reset-link" {
			c.Action, c.Heading, c.Button = base+"/email/reset-link", "Send "+name+" a password-reset link?", "Send reset link"
			c.What = []string{"A single-use link to choose a new password goes to " + name + "'s address, valid for 30 minutes."}
		} else {
			c.Action, c.Heading, c.Button = base+"/email/verify", "Mark "+name+"'s address verified?", "Mark verified"
			c.What = []string{"The address will count as confirmed, as if " + name + " had followed the link."}
		}
	case "factors-reset", "factors-require", "factors-optional":
		if s.cfg.Factors == nil {
			s.renderError(w, r, account.ErrNoFactors)
			return
		}
		switch r.PathValue("action") {
		case "factors-reset":
			c.Action, c.Heading, c.Button, c.Danger = base+"/factors/reset", "Reset the second factors of "+name+"?", "Reset second factors", true
			c.What = []string{"Every authenticator app, recovery code and passkey of " + name + " is removed.",
				"Every session of " + name + " ends now; the password alone signs in again (or leads to a new enrolment, if a second factor is required).",
				"Do this only once you are sure the request comes from " + name + "."}
		case "factors-require":
			c.Action, c.Heading, c.Button, c.Required = base+"/factors/required", "Require a second factor of "+name+"?", "Require a second factor", "1"
			c.What = []string{"Without one, " + name + " is sent to set one up at the next sign-in and can do nothing else until done.",
				"The last second factor of " + name + " can no longer be removed."}
		default:
			c.Action, c.Heading, c.Button, c.Required = base+"/factors/required", "Stop requiring a second factor of "+name+"?", "Make it optional", "0"
			c.What = []string{name + " keeps any second factor they have; the deployment's second_factor policy still applies."}
		}
	default:
		s.renderError(w, r, sesame.Errorf(sesame.ENotFound, "no such action"))
		return
	}
	pa := admin.Public()
	s.render(w, r, http.StatusOK, "confirm", pageData{Title: c.Heading, Nav: "admin", User: &pa, Admin: &adminView{Confirm: c}})
}

// handleAdminSignoutForm is POST /admin/users/{username}/signout: every
// session of the user ends (and the tokens bound to them).
func (s *Server) handleAdminSignoutForm(w http.ResponseWriter, r *http.Request) {
	admin, sub, err := s.adminSubject(r)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	// Each ended session is audited (session.revoked) with the reason,
	// which names the administrator.
	if _, err := s.sessions.RevokeUser(r.Context(), sub.ID, "", "revoked by admin "+admin.Username); err != nil {
		s.renderError(w, r, err)
		return
	}
	http.Redirect(w, r, adminUserURL(sub.Username, "signedout"), http.StatusSeeOther)
}

func adminUserURL(username, done string) string {
	return "/admin/users/" + url.PathEscape(username) + "?done=" + done
}

// handleBlockForm is POST /admin/users/{username}/block and .../unblock
// (the confirm page's form): blocking ends every session of the user.
func (s *Server) handleBlockForm(block bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := s.checkBlock(r, block); err != nil {
			s.renderError(w, r, err)
			return
		}
		u, err := s.accounts.SetBlocked(r.Context(), r.PathValue("username"), block)
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		s.users.forget(u.ID)
		done := "unblocked"
		if block {
			done = "blocked"
		}
		http.Redirect(w, r, adminUserURL(u.Username, done), http.StatusSeeOther)
	}
}
