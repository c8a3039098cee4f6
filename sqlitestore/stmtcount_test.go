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
	notFound := func(err error) error {
		if !errors.Is(err, driver.ErrNotFound) {
			return fmt.Errorf("got %v, want ErrNotFound", err)
		}
		return nil
	}
	for _, op := range []struct {
		name string
		run  func() error
		want string
	}{
		{"Save", func() error { return st.Save(ctx, "id1", rec) }, "INSERT"},
		{"Load", func() error { _, err := st.Load(ctx, "id1"); return err }, "SELECT"},
		{"Load of a missing ID", func() error { _, err := st.Load(ctx, "missing"); return notFound(err) }, "SELECT SELECT"},
		{"Apply, touch", func() error { _, err := st.Apply(ctx, "id1", d(driver.Delta{})); return err }, "UPDATE"},
		{"Apply, user", func() error { _, err := st.Apply(ctx, "id1", d(driver.Delta{User: &alice})); return err }, "UPDATE"},
		{"Apply, additive", func() error {
			_, err := st.Apply(ctx, "id1", d(driver.Delta{Set: map[string]any{"c": 3}}))
			return err
		}, "UPDATE"},
		{"Apply to a missing ID", func() error { _, err := st.Apply(ctx, "missing", d(driver.Delta{})); return notFound(err) }, "UPDATE SELECT"},
		{"Update", func() error {
			_, err := st.Update(ctx, "id1", "a", func(any, bool) (any, error) { return 5, nil })
			return err
		}, "BEGIN UPDATE UPDATE COMMIT"},
		{"Update of a missing ID", func() error {
			_, err := st.Update(ctx, "missing", "a", func(any, bool) (any, error) { return 5, nil })
			return notFound(err)
		}, "BEGIN UPDATE ROLLBACK SELECT"},
		{"Apply, emptying delta that leaves values", func() error {
			_, err := st.Apply(ctx, "id1", d(driver.Delta{Delete: []string{"a"}}))
			return err
		}, "BEGIN UPDATE COMMIT"},
		{"Renew", func() error {
			return st.Renew(ctx, "id1", "id2", d(driver.Delta{User: &alice, Deadline: rec.Deadline}))
		}, "BEGIN INSERT UPDATE COMMIT"},
		{"Renew of a missing ID", func() error {
			return notFound(st.Renew(ctx, "id1", "id3", d(driver.Delta{User: &alice, Deadline: rec.Deadline})))
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

// unknownCtx is a Context of a type that database/sql does not know, with
// a Done channel of its own, as the Manager's store contexts are:
// database/sql then watches it from goroutines of its own, which may run
// after the call has returned. That is allowed (the Manager never reuses a
// store context), but those goroutines must end with the call's work.
// Like a store context once its call is over, its channel never closes.
type unknownCtx struct {
	context.Context
	done chan struct{}
}

func (c *unknownCtx) Done() <-chan struct{} { return c.done }

// TestCallsLeaveNoGoroutineWatchingTheContext runs every operation with an
// unknownCtx, and checks that each works and that every goroutine that
// database/sql started to watch a context ends, although no context ever
// ends.
func TestCallsLeaveNoGoroutineWatchingTheContext(t *testing.T) {
	st := open(t, tempDB(t))
	base := runtime.NumGoroutine()
	now := time.Now()
	alice, empty := "alice", ""
	rec := sesametest.Record("alice", map[string]any{"a": 1})
	call := func(name string, want error, op func(ctx context.Context) error) {
		t.Helper()
		err := op(&unknownCtx{Context: t.Context(), done: make(chan struct{})})
		if want == nil && err != nil || want != nil && !errors.Is(err, want) {
			t.Fatalf("%s: %v, want %v", name, err, want)
		}
	}
	d := func(d driver.Delta) *driver.Delta { d.LastSeen, d.Expires = now, now.Add(time.Hour); return &d }
	for range 20 {
		call("Save", nil, func(ctx context.Context) error { return st.Save(ctx, "id1", rec) })
		call("Load", nil, func(ctx context.Context) error { _, err := st.Load(ctx, "id1"); return err })
		call("Load of a missing ID", driver.ErrNotFound, func(ctx context.Context) error { _, err := st.Load(ctx, "missing"); return err })
		call("Apply, additive", nil, func(ctx context.Context) error {
			_, err := st.Apply(ctx, "id1", d(driver.Delta{Set: map[string]any{"b": 2}}))
			return err
		})
		call("Apply, emptying", nil, func(ctx context.Context) error {
			_, err := st.Apply(ctx, "id1", d(driver.Delta{Delete: []string{"b"}}))
			return err
		})
		call("Renew", nil, func(ctx context.Context) error {
			return st.Renew(ctx, "id1", "id2", d(driver.Delta{User: &alice, Deadline: rec.Deadline}))
		})
		call("Renew of a renewed ID", driver.ErrRenewed, func(ctx context.Context) error {
			return st.Renew(ctx, "id1", "id3", d(driver.Delta{User: &alice, Deadline: rec.Deadline}))
		})
		call("Sessions", nil, func(ctx context.Context) error { _, err := st.Sessions(ctx, "alice"); return err })
		call("Update", nil, func(ctx context.Context) error {
			_, err := st.Update(ctx, "id2", "a", func(any, bool) (any, error) { return 1, nil })
			return err
		})
		call("Update of a renewed ID", driver.ErrRenewed, func(ctx context.Context) error {
			_, err := st.Update(ctx, "id1", "a", func(any, bool) (any, error) { return 1, nil })
			return err
		})
		call("CapUser", nil, func(ctx context.Context) error { _, err := st.CapUser(ctx, "alice", "id2", 0, false); return err })
		call("Apply, emptying delta that empties", nil, func(ctx context.Context) error {
			_, err := st.Apply(ctx, "id2", d(driver.Delta{Clear: true, User: &empty}))
			return err
		})
		call("Delete", nil, func(ctx context.Context) error { _, err := st.Delete(ctx, "id1"); return err })
		call("DeleteUser", nil, func(ctx context.Context) error { _, err := st.DeleteUser(ctx, "alice", ""); return err })
		call("Deny", nil, func(ctx context.Context) error {
			_, err := st.Deny(ctx, "alice", "x", true, now.Add(time.Hour))
			return err
		})
		call("SetRevocation", nil, func(ctx context.Context) error {
			return st.SetRevocation(ctx, "alice", driver.Revocation{Before: now, Expires: now.Add(time.Hour)})
		})
		call("Revocation", nil, func(ctx context.Context) error { _, err := st.Revocation(ctx, "alice", "x"); return err })
		call("Purge", nil, func(ctx context.Context) error { _, err := st.Purge(ctx); return err })
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > base && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > base {
		t.Errorf("%d goroutines 5s after the last call, %d before the first", n, base)
	}
}
