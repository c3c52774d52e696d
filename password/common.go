package password

import (
	_ "embed"
	"strings"
	"sync"
)

// commonList holds one lower-case password a line: the entries of 8 or more
// characters of SecLists' 10-million-password-list-top-10000.txt, lowered
// and de-duplicated, in their original rank order. Shorter entries are left
// out because Policy refuses them anyway. Source and licence: SOURCES.md.
//
//go:embed common-passwords.txt
var commonList string

// commonSet is the lookup set of commonList, built on first use. It is never
// modified after it is built.
var commonSet = sync.OnceValue(func() map[string]struct{} {
	set := make(map[string]struct{}, strings.Count(commonList, "\n")+1)
	for line := range strings.Lines(commonList) {
		if w := strings.TrimSuffix(line, "\n"); w != "" {
			set[w] = struct{}{}
		}
	}
	return set
})

// isCommon reports whether pw, in lower case, is on the common list.
func isCommon(pw string) bool {
	_, ok := commonSet()[strings.ToLower(pw)]
	return ok
}
