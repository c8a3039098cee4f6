package sqlitestore

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestQueriesUseTheirIndexes checks with EXPLAIN QUERY PLAN that listing,
// revoking and capping a user's sessions search the user index, that a purge
// searches each table's expiry index, and that the per-request statements
// search by primary key: none of them scans a table.
func TestQueriesUseTheirIndexes(t *testing.T) {
	st, err := Open(t.Context(), filepath.Join(t.TempDir(), "plan.db"), Options{CleanupInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	delta := []any{"id", 0, false, nil, nil, nil, 0, 0, 0, 0, 0, nil, nil}
	for _, tt := range []struct {
		name, query, index string
		args               []any
	}{
		{"Sessions", sessionsQuery, "USING INDEX sesame_sessions_user", []any{"alice", 0}},
		{"DeleteUser", deleteUserQuery, "USING INDEX sesame_sessions_user", []any{"alice", ""}},
		{"Purge", purgeQuery, "USING INDEX sesame_sessions_expires", []any{0, purgeBatch}},
		{"Purge renewals", purgeRenewalsQuery, "USING INDEX sesame_renewals_expires", []any{0, purgeBatch}},
		{"Purge marks", purgeMarksQuery, "USING INDEX sesame_revocations_expires", []any{0, purgeBatch}},
		{"Purge denied IDs", purgeDeniedQuery, "USING COVERING INDEX sesame_denied_expires", []any{0, purgeBatch}},
		{"Load", loadQuery, "USING INDEX sqlite_autoindex_sesame_sessions_1", []any{"id", 0}},
		{"Missing, renewals", missingQuery, "USING INDEX sqlite_autoindex_sesame_renewals_1", []any{"id", 0}},
		{"Missing, sessions", missingQuery, "USING INDEX sqlite_autoindex_sesame_sessions_1", []any{"id", 0}},
		{"Update read", updateReadQuery, "USING INDEX sqlite_autoindex_sesame_sessions_1", []any{"id", 0, "k"}},
		{"Update write", updateWriteQuery, "USING INDEX sqlite_autoindex_sesame_sessions_1", []any{"id", `{"k":"1"}`}},
		{"CapUser, expired", capExpiredQuery, "USING INDEX sesame_sessions_user", []any{"alice", 0}},
		{"CapUser, delete", capDeleteQuery, "USING COVERING INDEX sqlite_autoindex_sesame_sessions_1", []any{`["a","b"]`}},
		{"Apply", applyQuery, "USING INDEX sqlite_autoindex_sesame_sessions_1", delta},
		{"Renew mark", renewMarkQuery, "USING INDEX sqlite_autoindex_sesame_sessions_1", []any{"id", 0, "new"}},
		{"Renew move", renewMoveQuery, "USING INDEX sqlite_autoindex_sesame_sessions_1", append(delta, "new")},
		{"Delete", deleteQuery, "USING INDEX sqlite_autoindex_sesame_renewals_1", []any{"id", 0}},
		{"Revocation", revocationQuery, "USING INDEX sqlite_autoindex_sesame_denied_1", []any{"alice", 0}},
	} {
		rows, err := st.db.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+tt.query, tt.args...)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		all := strings.Join(plan, "; ")
		t.Logf("%s: %s", tt.name, all)
		if !strings.Contains(all, tt.index) || strings.Contains(all, "SCAN sesame_") {
			t.Errorf("%s: plan %q, want a search %s and no table scan", tt.name, all, tt.index)
		}
	}
}

// TestEveryConnectionHasThePragmas checks that WAL, the busy timeout and
// synchronous=NORMAL are set on every connection of an opened pool, not
// only on the first.
func TestEveryConnectionHasThePragmas(t *testing.T) {
	st, err := Open(t.Context(), filepath.Join(t.TempDir(), "pragmas.db"), Options{CleanupInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for i := range 3 { // hold 3 connections at once, so they are distinct
		conn, err := st.db.Conn(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		var mode string
		var busy, sync int
		for q, dst := range map[string]any{"journal_mode": &mode, "busy_timeout": &busy, "synchronous": &sync} {
			if err := conn.QueryRowContext(t.Context(), "PRAGMA "+q).Scan(dst); err != nil {
				t.Fatal(err)
			}
		}
		if mode != "wal" || busy != 5000 || sync != 1 {
			t.Errorf("connection %d: journal_mode=%s busy_timeout=%d synchronous=%d; want wal, 5000, 1 (NORMAL)", i, mode, busy, sync)
		}
	}
}
