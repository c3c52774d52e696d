package sesame_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/sesame-auth/sesame"
)

func TestValidGroupName(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"ops", true},
		{"a", true},
		{"0", true},
		{"team.a_b-c", true},
		{strings.Repeat("a", sesame.MaxGroupNameBytes), true},
		{strings.Repeat("a", sesame.MaxGroupNameBytes+1), false},
		{"", false},
		{"Ops", false}, // not normalised
		{"-rf", false}, // a flag on a command line
		{".hidden", false},
		{"_x", false},
		{"a b", false},
		{"a,b", false}, // the Remote-Groups separator
		{"group:x", false},
		{"a\x00", false},
		{"a\nb", false},
		{"ädmin", false},
		{"a/b", false},
		{"a@b", false},
	} {
		if got := sesame.ValidGroupName(tc.name); got != tc.ok {
			t.Errorf("ValidGroupName(%q): got %v, want %v", tc.name, got, tc.ok)
		}
	}
}

func TestNormalizeGroups(t *testing.T) {
	got, err := sesame.NormalizeGroups([]string{"Ops", "dev", "OPS", "a.b"})
	if err != nil || !slices.Equal(got, []string{"a.b", "dev", "ops"}) {
		t.Fatalf("got %v, %v, want [a.b dev ops]", got, err)
	}
	if got, err := sesame.NormalizeGroups(nil); got != nil || err != nil {
		t.Fatalf("no names: got %#v, %v, want nil, nil", got, err)
	}
	for _, bad := range [][]string{{"ok", "not ok"}, {""}, {strings.Repeat("x", 65)}, {"\u212a"}, {"admın"}} { // Kelvin sign, dotless i
		if _, err := sesame.NormalizeGroups(bad); sesame.ErrorCode(err) != sesame.EInvalid {
			t.Errorf("NormalizeGroups(%q): got %v, want EInvalid", bad, err)
		}
	}
	// The limit counts distinct names.
	many := make([]string, 0, 2*sesame.MaxGroupsPerUser)
	for i := range sesame.MaxGroupsPerUser {
		many = append(many, fmt.Sprintf("g%02d", i), fmt.Sprintf("G%02d", i))
	}
	if got, err := sesame.NormalizeGroups(many); err != nil || len(got) != sesame.MaxGroupsPerUser {
		t.Fatalf("%d distinct names given twice: got %d, %v", sesame.MaxGroupsPerUser, len(got), err)
	}
	if _, err := sesame.NormalizeGroups(append(many, "one-more")); sesame.ErrorCode(err) != sesame.EInvalid {
		t.Fatalf("one too many: got %v, want EInvalid", err)
	}
}

func TestGroupChangeApply(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cur     []string
		c       sesame.GroupChange
		want    []string
		changed bool
	}{
		{"add", []string{"b"}, sesame.GroupChange{Add: []string{"a"}}, []string{"a", "b"}, true},
		{"add present", []string{"a", "b"}, sesame.GroupChange{Add: []string{"b"}}, []string{"a", "b"}, false},
		{"remove", []string{"a", "b"}, sesame.GroupChange{Remove: []string{"a", "z"}}, []string{"b"}, true},
		{"remove absent", []string{"a"}, sesame.GroupChange{Remove: []string{"z"}}, []string{"a"}, false},
		{"remove last", []string{"a"}, sesame.GroupChange{Remove: []string{"a"}}, nil, true},
		{"replace", []string{"a", "b"}, sesame.GroupChange{Replace: true, Add: []string{"c"}}, []string{"c"}, true},
		{"replace same", []string{"b", "a"}, sesame.GroupChange{Replace: true, Add: []string{"a", "b"}}, []string{"a", "b"}, false},
		{"remove wins over add", nil, sesame.GroupChange{Add: []string{"a"}, Remove: []string{"a"}}, nil, false},
	} {
		cur := slices.Clone(tc.cur)
		got, changed, err := tc.c.Apply(cur)
		if err != nil || !slices.Equal(got, tc.want) || (got == nil) != (tc.want == nil) || changed != tc.changed {
			t.Errorf("%s: got %#v, changed %v, %v; want %#v, changed %v", tc.name, got, changed, err, tc.want, tc.changed)
		}
		if !slices.Equal(cur, tc.cur) {
			t.Errorf("%s: Apply modified its argument: %v", tc.name, cur)
		}
	}
	if _, _, err := (sesame.GroupChange{Add: []string{"Not Valid"}}).Apply(nil); sesame.ErrorCode(err) != sesame.EInvalid {
		t.Errorf("an invalid name: got %v, want EInvalid", err)
	}
}

// FuzzNormalizeGroupName: no input panics; what it accepts is valid, and
// normalising is idempotent.
func FuzzNormalizeGroupName(f *testing.F) {
	for _, s := range []string{"ops", "Ops", "", "a b", "-x", "ä", "\u212a", strings.Repeat("a", 70), "a\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		g, err := sesame.NormalizeGroupName(s)
		if err != nil {
			if sesame.ErrorCode(err) != sesame.EInvalid {
				t.Fatalf("NormalizeGroupName(%q): error %v", s, err)
			}
			return
		}
		if !sesame.ValidGroupName(g) || !strings.EqualFold(g, s) || len(g) != len(s) {
			t.Fatalf("NormalizeGroupName(%q) = %q, which is not valid or not s in lower case", s, g)
		}
		if g2, err := sesame.NormalizeGroupName(g); err != nil || g2 != g {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", s, g, g2, err)
		}
	})
}
