package account

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/sesame-auth/sesame"
)

// GroupUpdate is the outcome of a change to a user's groups.
type GroupUpdate struct {
	User    *sesame.User // the user, with Groups as they are after the change
	Added   []string     // groups the user was not in before and is now
	Removed []string     // groups the user was in before and is no longer
}

// Changed reports whether the change added or removed a group.
func (g *GroupUpdate) Changed() bool { return len(g.Added) > 0 || len(g.Removed) > 0 }

// Groups returns the groups of the user with the given username.
func (s *Service) Groups(ctx context.Context, username string) ([]string, error) {
	u, err := s.lookup(ctx, username)
	if err != nil {
		return nil, err
	}
	return slices.Clone(u.Groups), nil
}

// AddGroups adds the user to groups. Names are normalised
// ([sesame.NormalizeGroups]); an invalid name, or more than
// [sesame.MaxGroupsPerUser] groups in all, is an *sesame.Error with code
// [sesame.EInvalid] and changes nothing. A change that adds or removes a
// group emits [sesame.EventGroupsChanged]. Concurrent changes to one user
// are all applied (the store applies each atomically).
func (s *Service) AddGroups(ctx context.Context, username string, groups ...string) (*GroupUpdate, error) {
	return s.changeGroups(ctx, username, false, groups, nil)
}

// RemoveGroups removes the user from groups; one the user is not in is no
// change. Errors and events are those of [Service.AddGroups].
func (s *Service) RemoveGroups(ctx context.Context, username string, groups ...string) (*GroupUpdate, error) {
	return s.changeGroups(ctx, username, false, nil, groups)
}

// SetGroups replaces the user's groups by groups (none for an empty list).
// Errors and events are those of [Service.AddGroups].
func (s *Service) SetGroups(ctx context.Context, username string, groups []string) (*GroupUpdate, error) {
	return s.changeGroups(ctx, username, true, groups, nil)
}

func (s *Service) changeGroups(ctx context.Context, username string, replace bool, add, remove []string) (*GroupUpdate, error) {
	add, err := sesame.NormalizeGroups(add)
	if err != nil {
		return nil, err
	}
	remove, err = sesame.NormalizeGroups(remove)
	if err != nil {
		return nil, err
	}
	u, err := s.lookup(ctx, username)
	if err != nil {
		return nil, err
	}
	before := u.Groups
	after, err := s.Users.ChangeGroups(ctx, u.ID, sesame.GroupChange{Replace: replace, Add: add, Remove: remove, At: s.now()})
	if errors.Is(err, sesame.ErrNotFound) {
		return nil, sesame.Errorf(sesame.ENotFound, "no such user")
	}
	if err != nil {
		return nil, storeError(err)
	}
	c := *u
	c.Groups = after
	up := &GroupUpdate{User: &c, Added: missingFrom(after, before), Removed: missingFrom(before, after)}
	if up.Changed() {
		s.emit(ctx, sesame.Event{Type: sesame.EventGroupsChanged, UserID: u.ID, Username: u.Username,
			Reason: groupsReason(up)})
	}
	return up, nil
}

// missingFrom returns the elements of a that are not in b.
func missingFrom(a, b []string) []string {
	var out []string
	for _, g := range a {
		if !slices.Contains(b, g) {
			out = append(out, g)
		}
	}
	return out
}

func groupsReason(up *GroupUpdate) string {
	var parts []string
	if len(up.Added) > 0 {
		parts = append(parts, "added "+strings.Join(up.Added, ","))
	}
	if len(up.Removed) > 0 {
		parts = append(parts, "removed "+strings.Join(up.Removed, ","))
	}
	return strings.Join(parts, "; ")
}
