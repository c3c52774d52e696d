package server

import (
	"context"
	"net/http"
	"strings"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/account"
)

// groupsBody is the body of PUT /api/v1/admin/users/{username}/groups and
// the answer of both groups endpoints.
type groupsBody struct {
	Groups *[]string `json:"groups"`
}

// groupsAnswer is what the groups endpoints answer: the user's groups,
// never null.
type groupsAnswer struct {
	Groups []string `json:"groups"`
}

func newGroupsAnswer(groups []string) groupsAnswer {
	if groups == nil {
		groups = []string{}
	}
	return groupsAnswer{Groups: groups}
}

// apiAdminGroups is GET /api/v1/admin/users/{username}/groups: the user's
// groups, for an administrator.
func (s *Server) apiAdminGroups(w http.ResponseWriter, r *http.Request) {
	if _, err := s.admin(r); err != nil {
		s.writeError(w, r, err)
		return
	}
	groups, err := s.accounts.Groups(r.Context(), r.PathValue("username"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newGroupsAnswer(groups))
}

// apiAdminSetGroups is PUT /api/v1/admin/users/{username}/groups with
// {"groups": [...]}: replaces the user's groups (an empty list removes them
// all) and answers them. An invalid name, too many groups or a missing
// "groups" is 400 and changes nothing.
func (s *Server) apiAdminSetGroups(w http.ResponseWriter, r *http.Request) {
	if _, err := s.admin(r); err != nil {
		s.writeError(w, r, err)
		return
	}
	var body groupsBody
	if err := decodeJSON(r, &body); err != nil {
		s.writeError(w, r, err)
		return
	}
	if body.Groups == nil {
		s.writeError(w, r, sesame.Errorf(sesame.EInvalid, `"groups" is required: a list of group names, [] for none`))
		return
	}
	up, err := s.setGroups(r, *body.Groups)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newGroupsAnswer(up.User.Groups))
}

// handleGroupsForm is POST /admin/users/{username}/groups from the admin
// page: the field "groups" holds the new groups, separated by commas or
// spaces (empty for none).
func (s *Server) handleGroupsForm(w http.ResponseWriter, r *http.Request) {
	if _, err := s.admin(r); err != nil {
		s.renderError(w, r, err)
		return
	}
	if err := r.ParseForm(); err != nil {
		s.renderError(w, r, sesame.Errorf(sesame.EInvalid, "the form could not be read"))
		return
	}
	groups := strings.FieldsFunc(r.PostForm.Get("groups"), func(c rune) bool { return c == ',' || c == ' ' || c == '\t' || c == '\r' || c == '\n' })
	up, err := s.setGroups(r, groups)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	http.Redirect(w, r, adminUserURL(up.User.Username, "groups"), http.StatusSeeOther)
}

// setGroups replaces the groups of the user named in the path, and makes
// this process read the user afresh on their next request.
func (s *Server) setGroups(r *http.Request, groups []string) (*account.GroupUpdate, error) {
	up, err := s.accounts.SetGroups(r.Context(), r.PathValue("username"), groups)
	if err != nil {
		return nil, err
	}
	s.users.forget(up.User.ID)
	return up, nil
}

// userGroups is the token service's Groups when Config.GroupsClaim is on:
// the user's groups read from the store, never from the user cache, so
// that a token signed after a change (on any node) carries it.
func (s *Server) userGroups(ctx context.Context, userID string) ([]string, error) {
	u, err := s.accounts.Users.UserByID(ctx, userID)
	if err != nil {
		return nil, err
	}
	return u.Groups, nil
}
