package sqlitestore

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sesame-go/sesame/driver"
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
		{"Purge marks", purgeMarksQuery, "USING INDEX sesame_revocations_purge", []any{0, purgeBatch}},
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
		{"Revocation", revocationQuery, "USING INDEX sqlite_autoindex_sesame_denied_1 (user_id=? AND id=?)", []any{"alice", 0, `["a"]`}},
		{"Revocation, mark", revocationQuery, "USING INDEX sqlite_autoindex_sesame_revocations_1 (user_id=?)", []any{"alice", 0, `["a"]`}},
		{"SetRevocation, drop denied IDs", dropDeniedQuery, "USING INDEX sqlite_autoindex_sesame_denied_1 (user_id=?)", []any{"alice", ""}},
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

// plan returns the EXPLAIN QUERY PLAN of query with args, one detail per
// step, joined by "; ".
func plan(t testing.TB, st *Store, query string, args ...any) string {
	t.Helper()
	rows, err := st.db.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var steps []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		steps = append(steps, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(steps, "; ")
}

// denyMany inserts n denied IDs (x0, x1, ...) of user straight into the
// table, as years of Denys before a bound existed may have left, and
// updates the planner's statistics.
func denyMany(t testing.TB, st *Store, user string, n int) {
	t.Helper()
	expires := time.Now().Add(time.Hour).UnixMilli()
	if _, err := st.db.ExecContext(t.Context(), `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ?3 - 1)
		INSERT INTO sesame_denied (user_id, id, expires) SELECT ?1, 'x' || i, ?2 FROM n WHERE ?3 > 0`, user, expires, n); err != nil {
		t.Fatal(err)
	}
	if _, err := st.db.ExecContext(t.Context(), `ANALYZE`); err != nil {
		t.Fatal(err)
	}
}

// TestRevocationReadCostsTheSameWhateverTheDeniedList reads the
// revocation of a user who has 100,000 denied IDs, inserted by SQL: the
// query looks each asked ID up by the primary key (user_id, id), with the
// very plan it has for a user with none, rather than reading the user's
// whole list; and it returns only the IDs asked about.
func TestRevocationReadCostsTheSameWhateverTheDeniedList(t *testing.T) {
	const want = "SEARCH sesame_denied USING INDEX sqlite_autoindex_sesame_denied_1 (user_id=? AND id=?)"
	plans := map[int]string{}
	for _, n := range []int{0, 100000} {
		st, err := Open(t.Context(), filepath.Join(t.TempDir(), "plan.db"), Options{CleanupInterval: -1})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		denyMany(t, st, "alice", n)
		plans[n] = plan(t, st, revocationQuery, "alice", 0, `["x7","x99999","nope"]`)
		t.Logf("%d denied IDs: %s", n, plans[n])
		if !strings.Contains(plans[n], want) || strings.Contains(plans[n], "SCAN sesame_") {
			t.Errorf("with %d denied IDs the plan is %q, want %q and no scan", n, plans[n], want)
		}
		r, err := st.Revocation(t.Context(), "alice", "x7", "x99999", "nope")
		if err != nil {
			t.Fatal(err)
		}
		if wantDenied := min(n, 2); len(r.Denied) != wantDenied {
			t.Errorf("with %d denied IDs, Revocation of 3 IDs returned %d denials; want %d", n, len(r.Denied), wantDenied)
		}
	}
	if plans[0] != plans[100000] {
		t.Errorf("the plan depends on the length of the list:\n0:       %s\n100,000: %s", plans[0], plans[100000])
	}
}

// BenchmarkRevocation reads the revocation of one session (its ID and
// its origin) of a user who has a mark and 0, then 100,000, denied IDs, in
// a table of 100,000 denied IDs either way (another user's, for 0): the
// time is the same. (What a lookup costs grows with the size of the
// table, as any B-tree's, not with the length of the user's list.)
func BenchmarkRevocation(b *testing.B) {
	for _, n := range []int{0, 100000} {
		b.Run(fmt.Sprintf("denied=%d", n), func(b *testing.B) {
			st, err := Open(b.Context(), filepath.Join(b.TempDir(), "bench.db"), Options{CleanupInterval: -1})
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			now := time.Now()
			if err := st.SetRevocation(b.Context(), "alice", driver.Revocation{Before: now, Expires: now.Add(time.Hour)}); err != nil {
				b.Fatal(err)
			}
			denyMany(b, st, "alice", n)
			denyMany(b, st, "bob", 100000-n)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := st.Revocation(b.Context(), "alice", "x7", "origin"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
