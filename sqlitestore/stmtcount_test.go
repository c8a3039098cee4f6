package sqlitestore_test

import (
	"context"
	"database/sql"
	sqldriver "database/sql/driver"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"modernc.org/sqlite"

	"github.com/sesame-go/sesame/driver"
	"github.com/sesame-go/sesame/sesametest"
	"github.com/sesame-go/sesame/sqlitestore"
)

// stmtLog records the statements a pool runs: the first keyword of each
// statement executed or queried (WITH ... DELETE as DELETE), and BEGIN,
// COMMIT and ROLLBACK. Preparing a statement is not running one.
type stmtLog struct {
	mu   sync.Mutex
	stmt []string
}

func (l *stmtLog) add(query string) {
	q := strings.ToUpper(strings.TrimSpace(query))
	kw, _, _ := strings.Cut(q, " ")
	if kw == "WITH" { // the statement after the common table expressions
		kw = "SELECT"
		for k, stmt := range map[string]string{"DELETE FROM": "DELETE", "UPDATE ": "UPDATE", "INSERT INTO": "INSERT"} {
			if strings.Contains(q, k) {
				kw = stmt
			}
		}
	}
	l.mu.Lock()
	l.stmt = append(l.stmt, kw)
	l.mu.Unlock()
}

// take returns the statements recorded since the last take.
func (l *stmtLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.stmt
	l.stmt = nil
	return s
}

// countingConnector opens modernc.org/sqlite connections that record what
// they run in log.
type countingConnector struct {
	dsn string
	log *stmtLog
}

func (c countingConnector) Connect(context.Context) (sqldriver.Conn, error) {
	conn, err := (&sqlite.Driver{}).Open(c.dsn)
	if err != nil {
		return nil, err
	}
	return &countingConn{conn.(sqliteConn), c.log}, nil
}

func (c countingConnector) Driver() sqldriver.Driver { return &sqlite.Driver{} }

// sqliteConn is what modernc.org/sqlite's connections implement.
type sqliteConn interface {
	sqldriver.Conn
	sqldriver.ConnBeginTx
	sqldriver.ConnPrepareContext
	sqldriver.ExecerContext
	sqldriver.QueryerContext
}

type countingConn struct {
	sqliteConn
	log *stmtLog
}

func (c *countingConn) PrepareContext(ctx context.Context, query string) (sqldriver.Stmt, error) {
	st, err := c.sqliteConn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	return &countingStmt{st.(sqliteStmt), query, c.log}, nil
}

func (c *countingConn) Prepare(query string) (sqldriver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

func (c *countingConn) ExecContext(ctx context.Context, query string, args []sqldriver.NamedValue) (sqldriver.Result, error) {
	c.log.add(query)
	return c.sqliteConn.ExecContext(ctx, query, args)
}

func (c *countingConn) QueryContext(ctx context.Context, query string, args []sqldriver.NamedValue) (sqldriver.Rows, error) {
	c.log.add(query)
	return c.sqliteConn.QueryContext(ctx, query, args)
}

func (c *countingConn) BeginTx(ctx context.Context, opts sqldriver.TxOptions) (sqldriver.Tx, error) {
	c.log.add("BEGIN")
	tx, err := c.sqliteConn.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	return countingTx{tx, c.log}, nil
}

func (c *countingConn) Begin() (sqldriver.Tx, error) {
	return c.BeginTx(context.Background(), sqldriver.TxOptions{})
}

type countingTx struct {
	sqldriver.Tx
	log *stmtLog
}

func (t countingTx) Commit() error   { t.log.add("COMMIT"); return t.Tx.Commit() }
func (t countingTx) Rollback() error { t.log.add("ROLLBACK"); return t.Tx.Rollback() }

type sqliteStmt interface {
	sqldriver.Stmt
	sqldriver.StmtExecContext
	sqldriver.StmtQueryContext
}

type countingStmt struct {
	sqliteStmt
	query string
	log   *stmtLog
}

func (s *countingStmt) ExecContext(ctx context.Context, args []sqldriver.NamedValue) (sqldriver.Result, error) {
	s.log.add(s.query)
	return s.sqliteStmt.ExecContext(ctx, args)
}

func (s *countingStmt) QueryContext(ctx context.Context, args []sqldriver.NamedValue) (sqldriver.Rows, error) {
	s.log.add(s.query)
	return s.sqliteStmt.QueryContext(ctx, args)
}

// TestStatementsPerOperation checks the cost of each operation in
// statements, as the package doc lists them: in particular, a touch and an
// additive delta are one UPDATE (no read-modify-write), and Revocation is
// one query.
func TestStatementsPerOperation(t *testing.T) {
	log := &stmtLog{}
	db := sql.OpenDB(countingConnector{sqlitestore.DSN(tempDB(t)), log})
	defer db.Close()
	ctx := t.Context()
	st, err := sqlitestore.New(ctx, db, sqlitestore.Options{CleanupInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now()
	alice, empty := "alice", ""
	rec := sesametest.Record("", map[string]any{"a": 1, "b": 2})
	d := func(d driver.Delta) *driver.Delta { d.LastSeen, d.Expires = now, now.Add(time.Hour); return &d }
	for _, op := range []struct {
		name string
		run  func() error
		want string
	}{
		{"Save", func() error { return st.Save(ctx, "id1", rec) }, "INSERT"},
		{"Load", func() error { _, err := st.Load(ctx, "id1"); return err }, "SELECT"},
		{"Load of a missing ID", func() error { st.Load(ctx, "missing"); return nil }, "SELECT SELECT"},
		{"Apply, touch", func() error { _, err := st.Apply(ctx, "id1", d(driver.Delta{})); return err }, "UPDATE"},
		{"Apply, user", func() error { _, err := st.Apply(ctx, "id1", d(driver.Delta{User: &alice})); return err }, "UPDATE"},
		{"Apply, additive", func() error {
			_, err := st.Apply(ctx, "id1", d(driver.Delta{Set: map[string]any{"c": 3}}))
			return err
		}, "UPDATE"},
		{"Apply to a missing ID", func() error { st.Apply(ctx, "missing", d(driver.Delta{})); return nil }, "UPDATE SELECT"},
		{"Update", func() error {
			_, err := st.Update(ctx, "id1", "a", func(any, bool) (any, error) { return 5, nil })
			return err
		}, "BEGIN UPDATE UPDATE COMMIT"},
		{"Update of a missing ID", func() error {
			st.Update(ctx, "missing", "a", func(any, bool) (any, error) { return 5, nil })
			return nil
		}, "BEGIN UPDATE ROLLBACK SELECT"},
		{"Apply, emptying delta that leaves values", func() error {
			_, err := st.Apply(ctx, "id1", d(driver.Delta{Delete: []string{"a"}}))
			return err
		}, "BEGIN UPDATE COMMIT"},
		{"Renew", func() error {
			return st.Renew(ctx, "id1", "id2", d(driver.Delta{User: &alice, Deadline: rec.Deadline}))
		}, "BEGIN INSERT UPDATE COMMIT"},
		{"Renew of a missing ID", func() error {
			st.Renew(ctx, "id1", "id3", d(driver.Delta{User: &alice, Deadline: rec.Deadline}))
			return nil
		}, "BEGIN INSERT ROLLBACK SELECT"},
		{"CapUser, under the cap", func() error { _, err := st.CapUser(ctx, "alice", "id2", 1, false); return err }, "BEGIN DELETE SELECT COMMIT"},
		{"CapUser, over the cap", func() error {
			if err := st.Save(ctx, "id4", sesametest.Record("alice", nil)); err != nil {
				return err
			}
			log.take()
			ended, err := st.CapUser(ctx, "alice", "id2", 1, false)
			if err == nil && (len(ended) != 1 || ended[0].ID != "id4") {
				err = fmt.Errorf("ended %+v, want id4", ended)
			}
			return err
		}, "BEGIN DELETE SELECT DELETE COMMIT"},
		{"Apply, emptying delta that empties", func() error {
			_, err := st.Apply(ctx, "id2", d(driver.Delta{Clear: true, User: &empty}))
			return err
		}, "BEGIN UPDATE DELETE COMMIT"},
		{"Delete", func() error { _, err := st.Delete(ctx, "id1"); return err }, "DELETE"},
		{"Sessions", func() error { _, err := st.Sessions(ctx, "alice"); return err }, "SELECT"},
		{"DeleteUser", func() error { _, err := st.DeleteUser(ctx, "alice", ""); return err }, "DELETE"},
		{"SetRevocation", func() error {
			return st.SetRevocation(ctx, "alice", driver.Revocation{Before: now, Expires: now.Add(time.Hour)})
		}, "BEGIN INSERT DELETE COMMIT"},
		{"Deny", func() error {
			ok, err := st.Deny(ctx, "alice", "id9", false, now.Add(time.Hour))
			if err == nil && !ok {
				err = errors.New("refused")
			}
			return err
		}, "BEGIN INSERT INSERT COMMIT"},
		{"Deny at the limit", func() error {
			// bob has denied MaxDenied IDs since his last mark.
			if _, err := db.ExecContext(ctx, `INSERT INTO sesame_revocations (user_id, revoked_before, expires, denied)
				VALUES ('bob', 0, 0, ?1)`, driver.MaxDenied); err != nil {
				return err
			}
			log.take()
			if ok, err := st.Deny(ctx, "bob", "id8", false, now.Add(time.Hour)); err != nil || ok {
				return fmt.Errorf("Deny = %v, %v; want false", ok, err)
			}
			return nil
		}, "BEGIN INSERT ROLLBACK"},
		{"Revocation", func() error { _, err := st.Revocation(ctx, "alice", "id9", "id1"); return err }, "SELECT"},
		{"Purge, nothing expired", func() error { _, err := st.Purge(ctx); return err }, "DELETE DELETE DELETE DELETE"},
	} {
		log.take()
		if err := op.run(); err != nil {
			t.Fatalf("%s: %v", op.name, err)
		}
		got := strings.Join(log.take(), " ")
		t.Logf("%-42s %s", op.name, got)
		if got != op.want {
			t.Errorf("%s ran %q, want %q", op.name, got, op.want)
		}
	}
	// The emptying Apply deleted the record; the renewed-away ID is known.
	if _, err := st.Load(ctx, "id2"); err == nil {
		t.Error("the emptied record is still there")
	}
	if r, _ := st.Revocation(ctx, "alice", "id9", "id8"); !slices.Equal(slices.Sorted(maps.Keys(r.Denied)), []string{"id9"}) || r.Before.IsZero() {
		t.Errorf("Revocation = %+v, want the mark and id9", r)
	}
}

// reusedCtx is a Context that its caller reuses once a call returns, as
// sesame's Manager does with its store contexts: any use after the call
// returned is counted.
type reusedCtx struct {
	context.Context
	returned atomic.Bool
	late     atomic.Int32
}

func (c *reusedCtx) use() {
	if c.returned.Load() {
		c.late.Add(1)
	}
}

func (c *reusedCtx) Done() <-chan struct{}       { c.use(); return c.Context.Done() }
func (c *reusedCtx) Err() error                  { c.use(); return c.Context.Err() }
func (c *reusedCtx) Deadline() (time.Time, bool) { c.use(); return c.Context.Deadline() }

// TestContextIsNotUsedAfterTheCallReturns runs every operation with a
// Context of a type database/sql does not know: database/sql watches such
// a context from goroutines that may outlive the call, so the store must
// hand it a copy (callCtx) rather than the caller's context.
func TestContextIsNotUsedAfterTheCallReturns(t *testing.T) {
	st := open(t, tempDB(t))
	base := runtime.NumGoroutine()
	now := time.Now()
	alice, empty := "alice", ""
	rec := sesametest.Record("alice", map[string]any{"a": 1})
	var ctxs []*reusedCtx
	call := func(op func(ctx context.Context)) {
		c := &reusedCtx{Context: t.Context()}
		ctxs = append(ctxs, c)
		op(c)
		c.returned.Store(true)
	}
	d := func(d driver.Delta) *driver.Delta { d.LastSeen, d.Expires = now, now.Add(time.Hour); return &d }
	for range 20 {
		call(func(ctx context.Context) { st.Save(ctx, "id1", rec) })
		call(func(ctx context.Context) { st.Load(ctx, "id1") })
		call(func(ctx context.Context) { st.Load(ctx, "missing") })
		call(func(ctx context.Context) { st.Apply(ctx, "id1", d(driver.Delta{Set: map[string]any{"b": 2}})) })
		call(func(ctx context.Context) { st.Apply(ctx, "id1", d(driver.Delta{Delete: []string{"b"}})) })
		call(func(ctx context.Context) {
			st.Renew(ctx, "id1", "id2", d(driver.Delta{User: &alice, Deadline: rec.Deadline}))
		})
		call(func(ctx context.Context) {
			st.Renew(ctx, "id1", "id3", d(driver.Delta{User: &alice, Deadline: rec.Deadline}))
		})
		call(func(ctx context.Context) { st.Sessions(ctx, "alice") })
		call(func(ctx context.Context) {
			st.Update(ctx, "id2", "a", func(any, bool) (any, error) { return 1, nil })
		})
		call(func(ctx context.Context) {
			st.Update(ctx, "id1", "a", func(any, bool) (any, error) { return 1, nil })
		})
		call(func(ctx context.Context) { st.CapUser(ctx, "alice", "id2", 0, false) })
		call(func(ctx context.Context) { st.Apply(ctx, "id2", d(driver.Delta{Clear: true, User: &empty})) })
		call(func(ctx context.Context) { st.Delete(ctx, "id1") })
		call(func(ctx context.Context) { st.DeleteUser(ctx, "alice", "") })
		call(func(ctx context.Context) { st.Deny(ctx, "alice", "x", true, now.Add(time.Hour)) })
		call(func(ctx context.Context) {
			st.SetRevocation(ctx, "alice", driver.Revocation{Before: now, Expires: now.Add(time.Hour)})
		})
		call(func(ctx context.Context) { st.Revocation(ctx, "alice", "x") })
		call(func(ctx context.Context) { st.Purge(ctx) })
	}
	// Wait for database/sql's goroutines to end (not for an interleaving:
	// a late use is counted whenever it happens).
	for deadline := time.Now().Add(2 * time.Second); runtime.NumGoroutine() > base && time.Now().Before(deadline); {
		runtime.Gosched()
	}
	late := 0
	for _, c := range ctxs {
		late += int(c.late.Load())
	}
	if late > 0 {
		t.Errorf("the caller's context was used %d times after its call returned", late)
	}
}
