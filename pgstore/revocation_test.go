package pgstore

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sesame-go/sesame/driver"
)

// denyMany inserts n denied IDs (x0, x1, ...) of user straight into the
// table, as years of Denys before a bound existed may have left, and
// updates the planner's statistics.
func denyMany(t testing.TB, pool *pgxpool.Pool, st *Store, user string, n int) {
	t.Helper()
	dn := st.q.deniedTable.Sanitize()
	_, err := pool.Exec(context.Background(), `INSERT INTO `+dn+` (user_id, id, expires)
SELECT $1, 'x' || i, $2 FROM generate_series(0, $3 - 1) AS i`, user, time.Now().Add(time.Hour), n)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(context.Background(), `ANALYZE `+dn); err != nil {
		t.Fatal(err)
	}
}

// genericPlan returns the EXPLAIN of the generic plan (a prepared
// statement, its parameters unknown at planning) of sql run with args, a
// parenthesised list of SQL literals.
func genericPlan(t testing.TB, pool *pgxpool.Pool, sql, args string) string {
	t.Helper()
	conn, err := pool.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	ctx := context.Background()
	if _, err := conn.Exec(ctx, `SET plan_cache_mode = force_generic_plan`); err != nil {
		t.Fatal(err)
	}
	defer conn.Exec(ctx, `RESET plan_cache_mode; DEALLOCATE check_plan`)
	if _, err := conn.Exec(ctx, `PREPARE check_plan AS `+sql); err != nil {
		t.Fatal(err)
	}
	rows, _ := conn.Query(ctx, `EXPLAIN EXECUTE check_plan`+args, pgx.QueryExecModeSimpleProtocol)
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(lines, "\n")
}

// TestRevocationReadCostsTheSameWhateverTheDeniedList reads the
// revocation of a user who has 100,000 denied IDs, inserted by SQL, and of
// one who has none, beside 100,000 denied IDs of another user (on a table
// of a few pages, a scan is cheaper than any index, and PostgreSQL rightly
// picks it): the generic plan of the query looks the asked IDs up by the denied table's
// primary key, both columns in the index condition, with the very plan
// it has for a user with none, rather than reading the user's whole list;
// and Revocation returns only the IDs asked about.
func TestRevocationReadCostsTheSameWhateverTheDeniedList(t *testing.T) {
	pool := testPool(t, 0)
	costs := regexp.MustCompile(`\(cost=[^)]*\)`)
	plans := map[int]string{}
	for _, n := range []int{0, 100000} {
		st := newStore(t, pool, Options{})
		denyMany(t, pool, st, "bob", 100000)
		denyMany(t, pool, st, "alice", n)
		plan := genericPlan(t, pool, st.q.revocation, `('alice', now(), ARRAY['x7', 'x99999', 'nope'])`)
		t.Logf("%d denied IDs, generic plan:\n%s", n, plan)
		index := regexp.MustCompile(`Index (Only )?Scan using ` + regexp.QuoteMeta(st.q.deniedTable[1]) +
			`_pkey on \S+.*\n.*Index Cond: \(\(user_id = \$1\) AND \(id = ANY \(\$3\)\)\)`)
		if !index.MatchString(plan) || strings.Contains(plan, "Seq Scan") || strings.Contains(plan, "Bitmap") {
			t.Errorf("with %d denied IDs the plan does not look the asked IDs up by the primary key (user_id, id):\n%s", n, plan)
		}
		plans[n] = strings.ReplaceAll(costs.ReplaceAllString(plan, ""), st.table[1], "T")
		r, err := st.Revocation(t.Context(), "alice", "x7", "x99999", "nope")
		if err != nil {
			t.Fatal(err)
		}
		if want := min(n, 2); len(r.Denied) != want {
			t.Errorf("with %d denied IDs, Revocation of 3 IDs returned %d denials; want %d", n, len(r.Denied), want)
		}
	}
	if plans[0] != plans[100000] {
		t.Errorf("the plan depends on the length of the list:\n0:\n%s\n100,000:\n%s", plans[0], plans[100000])
	}
}

// BenchmarkRevocation reads the revocation of one session (its ID and its
// origin) of a user who has a mark and 0, then 100,000, denied IDs, in a
// table of 100,000 denied IDs either way (another user's, for 0): the time
// is the same, one round trip. (What a lookup costs grows with the size of
// the table, as any B-tree's, not with the length of the user's list.)
func BenchmarkRevocation(b *testing.B) {
	pool := testPool(b, 0)
	for _, n := range []int{0, 100000} {
		b.Run(fmt.Sprintf("denied=%d", n), func(b *testing.B) {
			st := newStore(b, pool, Options{})
			now := time.Now()
			if err := st.SetRevocation(context.Background(), "alice", driver.Revocation{Before: now, Expires: now.Add(time.Hour)}); err != nil {
				b.Fatal(err)
			}
			denyMany(b, pool, st, "alice", n)
			denyMany(b, pool, st, "bob", 100000-n)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := st.Revocation(ctx, "alice", "x7", "origin"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// deniedCount returns the count of Denys kept in user's row.
func deniedCount(t *testing.T, st *Store, user string) int {
	t.Helper()
	var n int
	if err := st.pool.QueryRow(t.Context(), `SELECT denied FROM `+st.q.revocationsTable.Sanitize()+` WHERE user_id = $1`, user).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A SetRevocation that waited for a Deny, in each query mode, drops the
// ID that Deny added and starts the count again: its DELETE is a
// statement of its own, whose snapshot is taken once it holds the user's
// row, after the Deny committed. (In one statement, the DELETE would run
// on a snapshot from before the Deny, and the ID would outlive the mark,
// uncounted.)
func TestSetRevocationRacingDenyDropsTheDeniedID(t *testing.T) {
	for _, mode := range queryModes {
		t.Run(mode.name, func(t *testing.T) {
			pool := testPool(t, mode.mode)
			st := newStore(t, pool, Options{})
			until := time.Now().Add(time.Hour)
			h := hold(t, pool, st.q.deny, "alice", "racer", false, until, driver.MaxDenied)
			now := time.Now()
			var err error
			race(t, pool, h, func() {
				err = st.SetRevocation(t.Context(), "alice", driver.Revocation{Before: now, Keep: "keep", Expires: until})
			})
			if err != nil {
				t.Fatal(err)
			}
			r, err := st.Revocation(t.Context(), "alice", "racer")
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Denied) != 0 || r.Keep != "keep" {
				t.Errorf("after a Deny, then a SetRevocation that waited for it: %+v; want the mark, and racer dropped", r)
			}
			if n := deniedCount(t, st, "alice"); n != 0 {
				t.Errorf("count of Denys after the mark = %d, want 0", n)
			}
		})
	}
}

// A Deny that waited for a SetRevocation comes after the mark: its ID
// stays, and is counted.
func TestDenyRacingSetRevocationComesAfterTheMark(t *testing.T) {
	pool := testPool(t, 0)
	st := newStore(t, pool, Options{})
	until := time.Now().Add(time.Hour)
	for i := range 3 {
		if ok, err := st.Deny(t.Context(), "alice", fmt.Sprint("old", i), false, until); err != nil || !ok {
			t.Fatalf("Deny = %v, %v", ok, err)
		}
	}
	h := hold(t, pool, st.q.setRevocation, "alice", time.Now(), "", until)
	if _, err := h.tx.Exec(t.Context(), st.q.dropDenied, "alice", ""); err != nil {
		t.Fatal(err)
	}
	var ok bool
	var err error
	race(t, pool, h, func() { ok, err = st.Deny(t.Context(), "alice", "racer", true, until) })
	if err != nil || !ok {
		t.Fatalf("Deny racing SetRevocation = %v, %v; want true", ok, err)
	}
	r, err := st.Revocation(t.Context(), "alice", "racer", "old0")
	if err != nil {
		t.Fatal(err)
	}
	if renewed, ok := r.Denied["racer"]; !ok || !renewed || len(r.Denied) != 1 {
		t.Errorf("after a mark, then a Deny that waited for it: Denied = %v; want racer alone, renewed away", r.Denied)
	}
	if n := deniedCount(t, st, "alice"); n != 1 {
		t.Errorf("count of Denys = %d, want 1", n)
	}
}

// Of two Denys racing for the last place below driver.MaxDenied, the one
// that waited judges the limit on the count the first left: it is
// refused, and adds nothing.
func TestDenysRacingAtTheLimitAreCountedExactly(t *testing.T) {
	pool := testPool(t, 0)
	st := newStore(t, pool, Options{})
	until := time.Now().Add(time.Hour)
	if ok, err := st.Deny(t.Context(), "alice", "first", false, until); err != nil || !ok {
		t.Fatalf("Deny = %v, %v", ok, err)
	}
	if _, err := pool.Exec(t.Context(), `UPDATE `+st.q.revocationsTable.Sanitize()+` SET denied = $1`, driver.MaxDenied-1); err != nil {
		t.Fatal(err)
	}
	h := hold(t, pool, st.q.deny, "alice", "last", false, until, driver.MaxDenied)
	var ok bool
	var err error
	race(t, pool, h, func() { ok, err = st.Deny(t.Context(), "alice", "one-too-many", false, until) })
	if err != nil || ok {
		t.Errorf("the Deny that waited at the limit = %v, %v; want false", ok, err)
	}
	r, err := st.Revocation(t.Context(), "alice", "last", "one-too-many")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := r.Denied["last"]; !ok || len(r.Denied) != 1 {
		t.Errorf("Denied = %v, want last alone", r.Denied)
	}
	if n := deniedCount(t, st, "alice"); n != driver.MaxDenied {
		t.Errorf("count of Denys = %d, want %d", n, driver.MaxDenied)
	}
}

// TestDenyKeepsTheStrongerEntry: denying an ID again never shortens its
// denial, nor weakens a revocation into a renewal (which would stop it
// revoking the sessions renewed from it), while a renewal is made a
// revocation.
func TestDenyKeepsTheStrongerEntry(t *testing.T) {
	pool := testPool(t, 0)
	st := newStore(t, pool, Options{})
	ctx := t.Context()
	long, short := time.Now().Add(time.Hour), time.Now().Add(time.Minute)
	for _, d := range []struct {
		id      string
		renewed bool
		until   time.Time
	}{{"revoked", false, long}, {"revoked", true, short}, {"renewed", true, short}, {"renewed", false, long}} {
		if ok, err := st.Deny(ctx, "alice", d.id, d.renewed, d.until); err != nil || !ok {
			t.Fatalf("Deny = %v, %v", ok, err)
		}
	}
	r, err := st.Revocation(ctx, "alice", "revoked", "renewed")
	if err != nil {
		t.Fatal(err)
	}
	if r.Denied["revoked"] || r.Denied["renewed"] || len(r.Denied) != 2 {
		t.Errorf("Denied = %v, want both revoked", r.Denied)
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM `+st.q.deniedTable.Sanitize()+` WHERE expires > $1`, short.Add(time.Second)).Scan(&n); err != nil || n != 2 {
		t.Errorf("%d denials last past the shorter expiry (%v), want 2", n, err)
	}
}

// TestPurgeOfMarksUsesItsIndex checks, with EXPLAIN, that the generic plan
// of the purge of the revocation table reads its purge index (on the
// later of a mark's expiry and its denied IDs'), on a table of 20,000
// users' rows.
func TestPurgeOfMarksUsesItsIndex(t *testing.T) {
	pool := testPool(t, 0)
	st := newStore(t, pool, Options{})
	r := st.q.revocationsTable.Sanitize()
	if _, err := pool.Exec(t.Context(), `INSERT INTO `+r+` (user_id, before, keep, expires, denied, denied_until)
SELECT 'u' || i, now(), '', now() + interval '1 hour', i % 3, CASE WHEN i % 2 = 0 THEN now() + interval '2 hours' END
FROM generate_series(1, 20000) AS i`); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(t.Context(), `ANALYZE `+r); err != nil {
		t.Fatal(err)
	}
	plan := genericPlan(t, pool, st.q.purgeMarks, `(now())`)
	t.Logf("purgeMarks generic plan:\n%s", plan)
	if !strings.Contains(plan, st.q.revocationsTable[1]+purgeIdxSuffix) || strings.Contains(plan, "Seq Scan") {
		t.Errorf("Purge of marks does not use the purge index:\n%s", plan)
	}
}
