// Package storetest is the conformance suite every Sesame store passes, in
// the way every slog handler passes testing/slogtest:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) storetest.Stores {
//			s := memstore.New()
//			return storetest.Stores{Sessions: s, Users: s}
//		})
//	}
//
// newStores is called once per subtest and must return empty stores that
// share nothing with earlier calls.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/session"
	"github.com/sesame-auth/sesame/token"
)

// Stores are the stores under test. Users may be nil for an adapter that
// keeps only session state; Refresh is the same adapter's token.Store (nil
// skips those tests).
type Stores struct {
	Sessions session.Store
	Users    sesame.UserStore
	Refresh  token.Store
}

// Run runs the whole suite.
func Run(t *testing.T, newStores func(t *testing.T) Stores) {
	t.Helper()
	sessionTests := []struct {
		name string
		fn   func(t *testing.T, s session.Store)
	}{
		{"CreateAndRead", testCreateAndRead},
		{"NotFound", testNotFound},
		{"DuplicateCreate", testDuplicateCreate},
		{"PreviousTokenHash", testPreviousTokenHash},
		{"UpdateVersionCheck", testUpdateVersionCheck},
		{"UpdateKeepsLaterLastSeen", testUpdateKeepsLaterLastSeen},
		{"UpdateMovesTokenIndex", testUpdateMovesTokenIndex},
		{"ConcurrentUpdatesOneWinner", testConcurrentUpdates},
		{"Touch", testTouch},
		{"DeleteIdempotent", testDelete},
		{"ListByUser", testListByUser},
		{"DeleteByUser", testDeleteByUser},
		{"ChangeFeed", testChangeFeed},
		{"ChangeFeedPaging", testChangeFeedPaging},
		{"DataRoundTrip", testDataRoundTrip},
		{"Cleaner", testCleaner},
		{"AnonymousSession", testAnonymousSession},
		{"AuthStateRoundTrip", testAuthStateRoundTrip},
	}
	for _, tc := range sessionTests {
		t.Run("Session/"+tc.name, func(t *testing.T) {
			tc.fn(t, newStores(t).Sessions)
		})
	}
	refreshTests := []struct {
		name string
		fn   func(t *testing.T, s Stores)
	}{
		{"CreateAndRead", testRefreshCreateAndRead},
		{"Redeem", testRefreshRedeem},
		{"ConcurrentRedeemOneWinner", testRefreshConcurrentRedeem},
		{"DeleteFamily", testRefreshDeleteFamily},
		{"DeletedWithSession", testRefreshDeletedWithSession},
		{"Cleaner", testRefreshCleaner},
	}
	for _, tc := range refreshTests {
		t.Run("Refresh/"+tc.name, func(t *testing.T) {
			s := newStores(t)
			if s.Refresh == nil {
				t.Skip("adapter keeps no refresh tokens")
			}
			tc.fn(t, s)
		})
	}
	userTests := []struct {
		name string
		fn   func(t *testing.T, s sesame.UserStore)
	}{
		{"CreateAndRead", testUserCreateAndRead},
		{"DuplicateName", testUserDuplicate},
		{"NotFound", testUserNotFound},
		{"Update", testUserUpdate},
		{"List", testUserList},
		{"Search", testUserSearch},
		{"GroupsCreateAndRead", testGroupsCreateAndRead},
		{"GroupsChange", testGroupsChange},
		{"GroupsEmpty", testGroupsEmpty},
		{"GroupsUpdateUserKeepsThem", testGroupsUpdateUserKeepsThem},
		{"GroupsInvalid", testGroupsInvalid},
		{"GroupsNotFound", testGroupsNotFound},
		{"GroupsConcurrentChanges", testGroupsConcurrent},
		{"GroupsCopies", testGroupsCopies},
	}
	for _, tc := range userTests {
		t.Run("User/"+tc.name, func(t *testing.T) {
			u := newStores(t).Users
			if u == nil {
				t.Skip("adapter keeps no users")
			}
			tc.fn(t, u)
		})
	}
}

func ctx() context.Context { return context.Background() }

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func randHash() [32]byte {
	var h [32]byte
	rand.Read(h[:])
	return h
}

func wantNotFound(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, sesame.ErrNotFound) {
		t.Fatalf("%s: got error %v, want sesame.ErrNotFound", what, err)
	}
}

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}
