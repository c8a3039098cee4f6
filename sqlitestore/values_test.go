package sqlitestore_test

import (
	"encoding/json"
	"errors"
	"io/fs"
	"maps"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/sesame-go/sesame/driver"
	"github.com/sesame-go/sesame/sesametest"
	"github.com/sesame-go/sesame/sqlitestore"
)

// TestJSONPatchBehaviour pins down what Apply relies on in SQLite's
// json_patch (RFC 7396): a string value is replaced wholesale, a null
// deletes its key, a missing key is added, deleting a missing key is a
// no-op, labels match whatever their escaping, a string's bytes are kept,
// and deleting every key leaves exactly '{}' (the test for an empty
// record). It also shows why values are strings: a nested object would be
// merged, not replaced.
func TestJSONPatchBehaviour(t *testing.T) {
	db := rawDB(t, tempDB(t))
	for _, tt := range []struct{ target, patch, want string }{
		{`{"a":"1","b":"{\"x\":1}"}`, `{"b":"{\"y\":2}","c":"3"}`, `{"a":"1","b":"{\"y\":2}","c":"3"}`},
		{`{"a":"1","b":"2"}`, `{"a":null,"missing":null}`, `{"b":"2"}`},
		{`{"a":"1"}`, `{"a":null}`, `{}`},
		{`{}`, `{"a":null}`, `{}`},
		{`{"\u003cb\u003e":"1","k\u2028":"1","é":"1"}`, `{"<b>":"2","k` + "\u2028" + `":"2","\u00e9":"2"}`, `{"\u003cb\u003e":"2","k\u2028":"2","é":"2"}`},
		{`{"n":"1"}`, `{"n":"9007199254740993","f":"2.50","e":"1e2","s":"\"h\u00e9\\n\""}`, `{"n":"9007199254740993","f":"2.50","e":"1e2","s":"\"h\u00e9\\n\""}`},
		// Nested objects merge: the reason values are kept as strings.
		{`{"m":{"a":1,"b":2}}`, `{"m":{"c":3}}`, `{"m":{"a":1,"b":2,"c":3}}`},
	} {
		var got string
		if err := db.QueryRow(`SELECT json_patch(?1, ?2)`, tt.target, tt.patch).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != tt.want {
			t.Errorf("json_patch(%s, %s) = %s, want %s", tt.target, tt.patch, got, tt.want)
		}
	}
}

// TestDeltaReplacesValuesWholesaleAndExactly applies deltas through the
// store: a nested value is replaced, not merged; keys that JSON escapes
// are replaced, not duplicated; numbers and strings come back byte for
// byte.
func TestDeltaReplacesValuesWholesaleAndExactly(t *testing.T) {
	path := tempDB(t)
	st := open(t, path)
	ctx := t.Context()
	odd := []string{"<b>", "k\u2028", `"quoted"`, "é", "a&b", "tab\t", "ключ"}
	vals := map[string]any{"m": map[string]int{"a": 1, "b": 2}, "keep": 1}
	for _, k := range odd {
		vals[k] = "old"
	}
	if err := st.Save(ctx, "id1", sesametest.Record("", vals)); err != nil {
		t.Fatal(err)
	}
	set := map[string]any{
		"m":   map[string]int{"c": 3},
		"big": json.RawMessage(`9007199254740993`),
		"exp": json.RawMessage(`1e2`),
		"f":   2.5,
		"s":   "héllo \"✓\" \\ \u2028",
		"nil": nil,
	}
	for _, k := range odd {
		set[k] = "new"
	}
	if _, err := st.Apply(ctx, "id1", delta(set)); err != nil {
		t.Fatal(err)
	}
	rec, err := st.Load(ctx, "id1")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"m": `{"c":3}`, "keep": `1`, "big": `9007199254740993`, "exp": `1e2`, "f": `2.5`,
		"s": `"héllo \"✓\" \\ \u2028"`, "nil": `null`,
	}
	for _, k := range odd {
		want[k] = `"new"`
	}
	if got := slices.Sorted(maps.Keys(rec.Values)); !slices.Equal(got, slices.Sorted(maps.Keys(want))) {
		t.Errorf("keys = %q, want %q", got, slices.Sorted(maps.Keys(want)))
	}
	for k, w := range want {
		if raw, _ := rec.Values[k].(json.RawMessage); string(raw) != w {
			t.Errorf("%q = %s, want %s", k, rec.Values[k], w)
		}
	}
	// Delete and Clear go through the same patch.
	now := time.Now()
	if _, err := st.Apply(ctx, "id1", &driver.Delta{Delete: append(odd, "m", "absent"), LastSeen: now, Expires: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	rec, _ = st.Load(ctx, "id1")
	if got := slices.Sorted(maps.Keys(rec.Values)); !slices.Equal(got, []string{"big", "exp", "f", "keep", "nil", "s"}) {
		t.Errorf("keys after Delete = %q", got)
	}
	if _, err := st.Apply(ctx, "id1", &driver.Delta{Clear: true, Delete: []string{"x"}, Set: map[string]any{"x": 1, "y": 2}, LastSeen: now, Expires: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	rec, _ = st.Load(ctx, "id1")
	if got := slices.Sorted(maps.Keys(rec.Values)); !slices.Equal(got, []string{"x", "y"}) {
		t.Errorf("keys after Clear, Delete x, Set x and y = %q; want [x y] (Set wins over Delete)", got)
	}
}

// TestApplySetsLifetimeAsApplyTo checks Delta.Created and Delta.Deadline:
// they replace the record's, and Expires is capped at the new deadline.
func TestApplySetsLifetimeAsApplyTo(t *testing.T) {
	st := open(t, tempDB(t))
	ctx := t.Context()
	rec := sesametest.Record("alice", map[string]any{"a": 1})
	mustSave(t, st, "id1", rec)
	now := time.Now().Truncate(time.Millisecond)
	d := &driver.Delta{Created: now, Deadline: now.Add(10 * time.Minute), LastSeen: now, Expires: now.Add(time.Hour)}
	if _, err := st.Apply(ctx, "id1", d); err != nil {
		t.Fatal(err)
	}
	got, err := st.Load(ctx, "id1")
	if err != nil {
		t.Fatal(err)
	}
	want := driver.Record{Values: got.Values, User: rec.User, Created: rec.Created, Deadline: rec.Deadline}
	d.ApplyTo(&want)
	for name, pair := range map[string][2]time.Time{
		"Created": {got.Created, want.Created}, "Deadline": {got.Deadline, want.Deadline},
		"LastSeen": {got.LastSeen, want.LastSeen}, "Expires": {got.Expires, want.Expires},
	} {
		if !pair[0].Equal(pair[1]) {
			t.Errorf("%s = %v, want %v (as Delta.ApplyTo)", name, pair[0], pair[1])
		}
	}
	if !got.Expires.Equal(d.Deadline) {
		t.Errorf("Expires = %v, want it capped at the new deadline %v", got.Expires, d.Deadline)
	}
}

// TestNewDatabaseFilesAreOwnerOnly checks that Open creates a new file
// with mode 0600, and that SQLite's -wal and -shm files get the same.
func TestNewDatabaseFilesAreOwnerOnly(t *testing.T) {
	path := tempDB(t)
	st := open(t, path)
	if err := st.Save(t.Context(), "id1", sesametest.Record("", map[string]any{"a": 1})); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if mode := fi.Mode().Perm(); mode != 0o600 {
			t.Errorf("%s has mode %v, want 0600", p, mode)
		}
	}
}

func TestOpenKeepsTheModeOfAnExistingFile(t *testing.T) {
	path := tempDB(t)
	if err := os.WriteFile(path, nil, 0o640); err != nil {
		t.Fatal(err)
	}
	os.Chmod(path, 0o640) // whatever the umask
	st := open(t, path)
	if err := st.Save(t.Context(), "id1", sesametest.Record("", map[string]any{"a": 1})); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := fi.Mode().Perm(); mode != 0o640 {
		t.Errorf("Open changed an existing file's mode to %v, want 0640", mode)
	}
}

func TestOpenInAMissingDirectoryFails(t *testing.T) {
	path := tempDB(t) + "-dir/sessions.db"
	st, err := sqlitestore.Open(t.Context(), path, sqlitestore.Options{})
	if err == nil {
		st.Close()
		t.Fatal("Open in a missing directory succeeded")
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open in a missing directory: %v, want fs.ErrNotExist", err)
	}
}

// TestRenewalIsRememberedUntilTheOldRecordWouldHaveExpired checks the
// renewal row's expiry: the old record's, so an old ID stops reporting
// ErrRenewed then; and Purge removes the expired renewal row.
func TestRenewalIsRememberedUntilTheOldRecordWouldHaveExpired(t *testing.T) {
	path := tempDB(t)
	st := open(t, path)
	ctx := t.Context()
	rec := sesametest.Record("alice", map[string]any{"a": 1})
	rec.Expires = time.Now().Add(300 * time.Millisecond)
	mustSave(t, st, "old", rec)
	now := time.Now()
	if err := st.Renew(ctx, "old", "new", &driver.Delta{User: &rec.User, Deadline: rec.Deadline, LastSeen: now, Expires: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	db := rawDB(t, path)
	var newID string
	var expires int64
	if err := db.QueryRow(`SELECT new_id, expires FROM sesame_renewals WHERE id = 'old'`).Scan(&newID, &expires); err != nil {
		t.Fatal(err)
	}
	if newID != "new" || expires != rec.Expires.UnixMilli() {
		t.Errorf("renewal row = (%s, %d), want (new, %d: the old record's expiry)", newID, expires, rec.Expires.UnixMilli())
	}
	if _, err := st.Load(ctx, "old"); !errors.Is(err, driver.ErrRenewed) {
		t.Errorf("Load(old) = %v, want ErrRenewed", err)
	}
	time.Sleep(time.Until(rec.Expires) + 50*time.Millisecond)
	_, err := st.Load(ctx, "old")
	if !errors.Is(err, driver.ErrNotFound) || errors.Is(err, driver.ErrRenewed) {
		t.Errorf("Load(old) after the old record would have expired = %v, want ErrNotFound alone", err)
	}
	if found, err := st.Delete(ctx, "old"); err != nil || found {
		t.Errorf("Delete(old) after the renewal expired = %v, %v; want false (it no longer follows)", found, err)
	}
	if _, err := st.Load(ctx, "new"); err != nil {
		t.Errorf("the renewed session was deleted through an expired renewal: %v", err)
	}
	if _, err := st.Purge(ctx); err != nil {
		t.Fatal(err)
	}
	var n int
	db.QueryRow(`SELECT count(*) FROM sesame_renewals`).Scan(&n)
	if n != 0 {
		t.Errorf("%d renewal rows after Purge, want 0", n)
	}
}

// TestRenewReplacesARecordUnderTheNewID: an ID is random, so this never
// happens through a Manager, but the move must not fail on it.
func TestRenewReplacesARecordUnderTheNewID(t *testing.T) {
	st := open(t, tempDB(t))
	ctx := t.Context()
	rec := sesametest.Record("alice", map[string]any{"a": 1})
	mustSave(t, st, "old", rec)
	mustSave(t, st, "new", sesametest.Record("bob", map[string]any{"b": 1}))
	now := time.Now()
	if err := st.Renew(ctx, "old", "new", &driver.Delta{User: &rec.User, Deadline: rec.Deadline, LastSeen: now, Expires: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	got, err := st.Load(ctx, "new")
	if err != nil || got.User != "alice" || got.Values["a"] == nil || got.Values["b"] != nil {
		t.Errorf("Load(new) = %+v, %v; want alice's session", got, err)
	}
	if list, _ := st.Sessions(ctx, "bob"); len(list) != 0 {
		t.Errorf("bob still has %d sessions", len(list))
	}
}

// TestPurgeRemovesExpiredDeniedIDsAndMarks checks that Purge removes
// expired renewal rows, marks and denied IDs, keeps live ones, and keeps a
// user's row while its mark or one of its denied IDs is live (the row
// holds the count of Denys since the mark).
func TestPurgeRemovesExpiredDeniedIDsAndMarks(t *testing.T) {
	path := tempDB(t)
	st := open(t, path)
	ctx := t.Context()
	db := rawDB(t, path)
	past := time.Now().Add(-time.Minute)
	future := time.Now().Add(time.Hour)
	// 2,100 expired denied IDs (more than two batches) and one live one.
	if _, err := db.Exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2100)
		INSERT INTO sesame_denied (user_id, id, expires) SELECT 'alice', 'x' || i, ?1 FROM n`, past.UnixMilli()); err != nil {
		t.Fatal(err)
	}
	// carol's denied ID and mark have both expired.
	if _, err := st.Deny(ctx, "carol", "old", false, past); err != nil {
		t.Fatal(err)
	}
	if err := st.SetRevocation(ctx, "alice", driver.Revocation{Before: past, Expires: past}); err != nil {
		t.Fatal(err)
	}
	if ok, err := st.Deny(ctx, "alice", "live", false, future); err != nil || !ok {
		t.Fatalf("Deny = %v, %v", ok, err)
	}
	if err := st.SetRevocation(ctx, "bob", driver.Revocation{Before: past, Expires: future}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO sesame_renewals VALUES ('a', 'b', ?1), ('c', 'd', ?2)`, past.UnixMilli(), future.UnixMilli()); err != nil {
		t.Fatal(err)
	}
	r, err := st.Revocation(ctx, "alice", "live", "x1")
	if err != nil {
		t.Fatal(err)
	}
	if !r.Before.IsZero() || len(r.Denied) != 1 || r.Denied["live"] {
		t.Errorf("Revocation(alice) = %+v; want no mark (expired) and only the live denied ID, revoked", r)
	}
	if _, err := st.Purge(ctx); err != nil {
		t.Fatal(err)
	}
	for table, want := range map[string]int{"sesame_denied": 1, "sesame_revocations": 2, "sesame_renewals": 1} {
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil || n != want {
			t.Errorf("%s holds %d rows after Purge (%v), want %d", table, n, err, want)
		}
	}
	var denied int
	if err := db.QueryRow(`SELECT denied FROM sesame_revocations WHERE user_id = 'alice'`).Scan(&denied); err != nil || denied != 1 {
		t.Errorf("alice's count of Denys after Purge = %d, %v; want 1, kept with her live denied ID", denied, err)
	}
	if r, _ := st.Revocation(ctx, "alice", "live"); len(r.Denied) != 1 {
		t.Errorf("the live denied ID was purged: %+v", r)
	}
	if r, _ := st.Revocation(ctx, "bob"); r.Before.IsZero() {
		t.Error("bob's live mark was purged")
	}
}
