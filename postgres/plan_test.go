package postgres_test

import (
	"strings"
	"testing"
)

// The request-path statements and the cleanup are answered from indexes,
// so they stay flat as the tables grow. Sequential scans are disabled so
// that the planner shows an index plan on a small table whenever one
// exists.
func TestQueryPlans(t *testing.T) {
	db := openTest(t)
	conn, err := db.Pool().Acquire(ctx)
	must(t, "Acquire", err)
	defer conn.Release()
	_, err = conn.Exec(ctx, `SET enable_seqscan = off`)
	must(t, "SET", err)
	defer conn.Exec(ctx, `RESET enable_seqscan`)
	h := make([]byte, 32)
	for _, tc := range []struct {
		name, query string
		args        []any
		want        []string
	}{
		{"ByToken", `SELECT id FROM sessions WHERE token_hash = $1 UNION ALL SELECT id FROM sessions WHERE prev_token_hash = $1 LIMIT 1`,
			[]any{h}, []string{"sessions_token_hash_key", "sessions_prev_token_hash"}},
		{"ListByUser", `SELECT id FROM sessions WHERE user_id = $1 ORDER BY created_at, id`, []any{"u"}, []string{"sessions_user_created"}},
		{"DeleteExpired", `SELECT id FROM sessions WHERE deadline <= $1 ORDER BY deadline LIMIT $2`, []any{int64(0), 10}, []string{"sessions_deadline"}},
		{"RefreshByFamily", `SELECT hash FROM refresh_tokens WHERE family_id = $1`, []any{"f"}, []string{"refresh_tokens_family"}},
		{"ChangesTrim", `SELECT seq FROM session_changes WHERE time < $1`, []any{int64(0)}, []string{"session_changes_time"}},
		{"ThrottleStale", `SELECT key FROM throttle WHERE expires_at <= $1`, []any{int64(0)}, []string{"throttle_expires"}},
		{"ClaimLogouts", `SELECT session_id FROM oauth_logout_targets WHERE due_at IS NOT NULL AND due_at <= $1
			ORDER BY due_at, session_id, client_id LIMIT $2`, []any{int64(0), 10}, []string{"oauth_logout_targets_due"}},
		{"SessionsEnded", `SELECT 1 FROM oauth_logout_targets WHERE session_id = ANY($1) AND due_at IS NULL`,
			[]any{[]string{"s"}}, []string{"oauth_logout_targets_pkey"}},
		{"LogoutTargets", `SELECT session_id FROM oauth_logout_targets WHERE session_id > $1 AND due_at IS NULL
			ORDER BY session_id, client_id LIMIT $2`, []any{"s", 10}, []string{"oauth_logout_targets_pkey"}},
		{"ClientsByID", `SELECT id FROM oauth_clients ORDER BY id`, nil, []string{"oauth_clients_pkey"}},
		{"DeleteClientConsents", `SELECT 1 FROM oauth_consents WHERE client_id = $1`, []any{"c"}, []string{"oauth_consents_client"}},
		{"DeleteClientTargets", `SELECT 1 FROM oauth_logout_targets WHERE client_id = $1`, []any{"c"}, []string{"oauth_logout_targets_client"}},
		{"ExpiredCodes", `SELECT hash FROM oauth_codes WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2`,
			[]any{int64(0), 10}, []string{"oauth_codes_expires"}},
		{"ExpiredUsedKeys", `SELECT key FROM oauth_used_keys WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2`,
			[]any{int64(0), 10}, []string{"oauth_used_keys_expires"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rows, err := conn.Query(ctx, `EXPLAIN `+tc.query, tc.args...)
			must(t, "EXPLAIN", err)
			var plan []string
			for rows.Next() {
				var line string
				must(t, "Scan", rows.Scan(&line))
				plan = append(plan, line)
			}
			must(t, "rows", rows.Err())
			text := strings.Join(plan, "\n")
			for _, idx := range tc.want {
				if !strings.Contains(text, idx) {
					t.Errorf("plan does not use %s:\n%s", idx, text)
				}
			}
			if strings.Contains(text, "Seq Scan") {
				t.Errorf("plan has a sequential scan:\n%s", text)
			}
		})
	}
}
