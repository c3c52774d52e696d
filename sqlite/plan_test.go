package sqlite

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestQueryPlans checks that the hot and the batched queries are answered
// from indexes, never by scanning a table.
func TestQueryPlans(t *testing.T) {
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "plan.db"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer db.Close()
	hash := make([]byte, 32)
	q1, a1 := searchUsersQuery("", "", 50)
	q2, a2 := searchUsersQuery("al", "", 50)
	q3, a3 := searchUsersQuery("al", "alice", 50)
	tests := []struct {
		name  string
		query string
		args  []any
		want  []string // each must appear in the plan
	}{
		{"ByToken", `SELECT ` + sessionColumns + ` FROM sessions WHERE token_hash = ?1 OR prev_token_hash = ?1 LIMIT 1`,
			[]any{hash}, []string{"sqlite_autoindex_sessions_2", "sessions_prev_token_hash"}},
		{"ByID", `SELECT ` + sessionColumns + ` FROM sessions WHERE id = ?`, []any{"x"}, []string{"sqlite_autoindex_sessions_1"}},
		{"ListByUser", `SELECT ` + sessionColumns + ` FROM sessions WHERE user_id = ? ORDER BY created_at, id`,
			[]any{"u"}, []string{"sessions_user_created"}},
		{"DeleteExpired", `SELECT rowid FROM sessions WHERE deadline <= ?1 ORDER BY deadline LIMIT ?2`,
			[]any{int64(0), 10}, []string{"sessions_deadline"}},
		{"TrimChanges", `SELECT seq FROM session_changes WHERE time < ?`, []any{int64(0)}, []string{"session_changes_time"}},
		{"ClaimLogouts", `SELECT ` + targetColumns + ` FROM oauth_logout_targets
			WHERE due_at IS NOT NULL AND due_at <= ? ORDER BY due_at, session_id, client_id LIMIT ?`,
			[]any{int64(0), 10}, []string{"oauth_logout_targets_due"}},
		{"SessionsEnded", `SELECT 1 FROM oauth_logout_targets WHERE session_id = ? AND due_at IS NULL`,
			[]any{"s"}, []string{"PRIMARY KEY"}},
		{"LogoutTargets", `SELECT ` + targetColumns + ` FROM oauth_logout_targets
			WHERE session_id > ? AND due_at IS NULL ORDER BY session_id, client_id LIMIT ?`,
			[]any{"s", 10}, []string{"PRIMARY KEY"}},
		{"DeleteClientConsents", `SELECT 1 FROM oauth_consents WHERE client_id = ?`, []any{"c"}, []string{"oauth_consents_client"}},
		{"DeleteClientTargets", `SELECT 1 FROM oauth_logout_targets WHERE client_id = ?`, []any{"c"}, []string{"oauth_logout_targets_client"}},
		{"ExpiredCodes", `SELECT 1 FROM oauth_codes WHERE expires_at <= ?`, []any{int64(0)}, []string{"oauth_codes_expires"}},
		// The admin page's user search: a range of the username index,
		// whatever the prefix and page.
		{"SearchUsersFirstPage", q1, a1, []string{"SEARCH users USING INDEX sqlite_autoindex_users_2"}},
		{"SearchUsersPrefix", q2, a2, []string{"SEARCH users USING INDEX sqlite_autoindex_users_2 (username>? AND username<?)"}},
		{"SearchUsersNextPage", q3, a3, []string{"SEARCH users USING INDEX sqlite_autoindex_users_2 (username>? AND username<?)"}},
		{"ExpiredUsedKeys", `SELECT 1 FROM oauth_used_keys WHERE expires_at <= ?`, []any{int64(0)}, []string{"oauth_used_keys_expires"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rows, err := db.r.Query(`EXPLAIN QUERY PLAN `+tc.query, tc.args...)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var plan []string
			for rows.Next() {
				var id, parent, unused int
				var detail string
				if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, detail)
			}
			all := strings.Join(plan, "; ")
			t.Logf("plan: %s", all)
			for _, w := range tc.want {
				if !strings.Contains(all, w) {
					t.Errorf("plan: got %q, want it to use %s", all, w)
				}
			}
			if strings.Contains(all, "SCAN users") || strings.Contains(all, "TEMP B-TREE") {
				t.Errorf("plan: got %q, want no scan or sort of users", all)
			}
			if (strings.Contains(all, "SCAN sessions") || strings.Contains(all, "SCAN oauth_")) && !strings.Contains(all, "USING INDEX") {
				t.Errorf("plan: got %q, want no table scan", all)
			}
		})
	}
}
