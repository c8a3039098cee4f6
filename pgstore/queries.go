package pgstore

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5"
)

// This file names the store's tables and builds its SQL; schema.go
// migrates the schema.

// DefaultTable is the sessions table used when Options.Table is empty.
const DefaultTable = "sesame_sessions"

// Suffixes of the tables and indexes named after Options.Table.
const (
	revocationsSuffix = "_revocations"
	renewedSuffix     = "_renewed"
	deniedSuffix      = "_denied"
	schemaSuffix      = "_schema"
	userIndexSuffix   = "_user_idx"
	expiresIdxSuffix  = "_expires_idx"
	purgeIdxSuffix    = "_purge_idx"
)

// maxTableLen keeps every derived name, the longest being the
// revocation table's expiry index, within PostgreSQL's 63-byte limit.
const maxTableLen = 63 - len(revocationsSuffix+expiresIdxSuffix)

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// parseTable validates a table name and splits it into its parts.
func parseTable(name string) (pgx.Identifier, error) {
	if name == "" {
		name = DefaultTable
	}
	parts := strings.Split(name, ".")
	if len(parts) > 2 {
		return nil, fmt.Errorf("pgstore: invalid table name %q: want table or schema.table", name)
	}
	for _, p := range parts {
		if !identRE.MatchString(p) || len(p) > 63 {
			return nil, fmt.Errorf("pgstore: invalid table name %q: each part must be letters, digits and underscores, not starting with a digit", name)
		}
	}
	if t := parts[len(parts)-1]; len(t) > maxTableLen {
		return nil, fmt.Errorf("pgstore: table name %q longer than %d bytes", t, maxTableLen)
	}
	return pgx.Identifier(parts), nil
}

// suffixed returns the name of a table next to t, with suffix appended.
func suffixed(t pgx.Identifier, suffix string) pgx.Identifier {
	out := append(pgx.Identifier(nil), t...)
	out[len(out)-1] += suffix
	return out
}

// queries holds the store's SQL, built once for its tables.
type queries struct {
	load, missing, save         string
	apply, applyEmptying, renew string
	updateRead, updateWrite     string
	delete                      string
	sessions, deleteUser        string
	capLock, capList, capDelete string
	purge, purgeRenewed         string
	purgeDenied, purgeMarks     string
	setRevocation, dropDenied   string
	deny, revocation            string
	versionTable                pgx.Identifier
	revocationsTable            pgx.Identifier
	renewedTable, deniedTable   pgx.Identifier
}

// The parameters of apply, applyEmptying and renew, in this order:
//
//	$1  id (renew: the old ID)
//	$2  Clear
//	$3  Delete, a text[] (never NULL)
//	$4  Set, a jsonb object of each value's encoding as a JSON string
//	$5  User, or NULL
//	$6  Persist, or NULL
//	$7  Created, or NULL
//	$8  Deadline, or NULL
//	$9  LastSeen
//	$10 Expires (the idle expiry)
//	$11 now, by the application's clock
//	$12 AuthenticatedAt, or NULL
//	$13 Device.UserAgent, or NULL (no Device)
//	$14 Device.IP, or NULL (no Device)
//	$15 renew only: the new ID
const (
	// deltaData is the data column after the delta: Clear, Delete, Set.
	deltaData = `(CASE WHEN $2::boolean THEN '{}'::jsonb ELSE data END - $3::text[]) || $4::jsonb`
	// deltaMeta sets every other column a delta changes, for an UPDATE
	// whose table is t (t's columns on the right are the row's old
	// values). LEAST ignores a NULL deadline (a record without an
	// absolute lifetime), and caps expires at the new deadline if the
	// delta sets one, else at the row's. A delta that gives the record to
	// another, non-empty, user without authenticating
	// (driver.Delta.ChangesUser) clears authenticated_at, as ApplyTo does.
	deltaMeta = `persist = COALESCE($6::boolean, t.persist),
	created = COALESCE($7::timestamptz, t.created),
	deadline = COALESCE($8::timestamptz, t.deadline),
	last_seen = $9::timestamptz,
	expires = LEAST($10::timestamptz, COALESCE($8::timestamptz, t.deadline)),
	authenticated_at = CASE WHEN $12::timestamptz IS NOT NULL THEN $12::timestamptz
		WHEN $5::text <> '' AND $5::text <> t.user_id THEN NULL
		ELSE t.authenticated_at END,
	user_agent = COALESCE($13::text, t.user_agent),
	ip = COALESCE($14::text, t.ip)`
)

func buildQueries(table pgx.Identifier) queries {
	t := table.Sanitize()
	rt := suffixed(table, revocationsSuffix)
	nt := suffixed(table, renewedSuffix)
	dt := suffixed(table, deniedSuffix)
	r, n, dn := rt.Sanitize(), nt.Sanitize(), dt.Sanitize()
	cols := "data, user_id, created, last_seen, deadline, expires, persist, authenticated_at, user_agent, ip"
	// The columns of a driver.Info, after its ID and user.
	info := "created, last_seen, deadline, expires, authenticated_at, user_agent, ip"
	batch := fmt.Sprint(purgeBatch)
	return queries{
		load: `SELECT ` + cols + ` FROM ` + t + ` WHERE id = $1 AND expires > $2`,
		// Why an ID has no live record: it was renewed (and the old
		// record would not have expired yet), or its row is still there
		// but expired. Two lookups of primary keys, in one query.
		missing: `SELECT EXISTS (SELECT FROM ` + n + ` WHERE id = $1 AND expires > $2),
	EXISTS (SELECT FROM ` + t + ` WHERE id = $1 AND expires <= $2)`,
		save: `INSERT INTO ` + t + ` (id, ` + cols + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
ON CONFLICT (id) DO UPDATE SET data = EXCLUDED.data, user_id = EXCLUDED.user_id,
	created = EXCLUDED.created, last_seen = EXCLUDED.last_seen, deadline = EXCLUDED.deadline,
	expires = EXCLUDED.expires, persist = EXCLUDED.persist,
	authenticated_at = EXCLUDED.authenticated_at, user_agent = EXCLUDED.user_agent, ip = EXCLUDED.ip`,

		// A delta that cannot empty the record (driver.Delta.Emptying is
		// false): one UPDATE. Its WHERE reads only id and expires, which
		// PostgreSQL re-checks on the row's latest version if a
		// concurrent commit changed it, and the SET expressions are
		// computed on that version: concurrent deltas all survive.
		apply: `UPDATE ` + t + ` AS t SET
	data = ` + deltaData + `,
	user_id = COALESCE($5::text, t.user_id),
	` + deltaMeta + `
WHERE t.id = $1::text AND t.expires > $11::timestamptz`,

		// A delta that may empty the record: l locks the row's latest
		// version (FOR UPDATE re-reads it if a concurrent commit changed
		// it) and computes the data and user after the delta from that
		// version; then exactly one of d (the result is empty) and u
		// (it is not) matches the row, which nobody can change before
		// this statement commits. Judging emptiness in d's own WHERE
		// instead would judge it on the statement's snapshot, which a
		// concurrent commit may have made stale: two requests that each
		// pop one of the last two keys would then leave an empty row.
		applyEmptying: `WITH l AS MATERIALIZED (
	SELECT t.id, ` + deltaData + ` AS data, COALESCE($5::text, t.user_id) AS user_id
	FROM ` + t + ` AS t WHERE t.id = $1::text AND t.expires > $11::timestamptz
	FOR UPDATE
), d AS (
	DELETE FROM ` + t + ` AS t USING l
	WHERE t.id = l.id AND l.data = '{}'::jsonb AND l.user_id = ''
	RETURNING 1
), u AS (
	UPDATE ` + t + ` AS t SET data = l.data, user_id = l.user_id,
	` + deltaMeta + `
	FROM l WHERE t.id = l.id AND NOT (l.data = '{}'::jsonb AND l.user_id = '')
	RETURNING 1
)
SELECT (SELECT count(*) FROM d), (SELECT count(*) FROM u)`,

		// Renew: o locks the live row under the old ID (its latest
		// version) and reads its expiry; moved moves it to the new ID with
		// the delta applied, as an UPDATE of the key, so that a
		// concurrent Apply, Renew or Delete of the old ID that waited
		// for the row re-checks "id = old" on the moved version and
		// matches nothing, while a concurrent DeleteUser, which matches
		// on user_id, still deletes it; r remembers the renewal until
		// the old record would have expired.
		renew: `WITH o AS MATERIALIZED (
	SELECT t.expires FROM ` + t + ` AS t WHERE t.id = $1::text AND t.expires > $11::timestamptz
	FOR UPDATE
), moved AS (
	UPDATE ` + t + ` AS t SET id = $15::text,
	data = ` + deltaData + `,
	user_id = COALESCE($5::text, t.user_id),
	` + deltaMeta + `
	FROM o WHERE t.id = $1::text
	RETURNING o.expires
), r AS (
	INSERT INTO ` + n + ` (id, new_id, expires) SELECT $1::text, $15::text, moved.expires FROM moved
	ON CONFLICT (id) DO UPDATE SET new_id = EXCLUDED.new_id, expires = EXCLUDED.expires
)
SELECT count(*) FROM moved`,

		// Update, in a transaction: updateRead locks the live row
		// ($1 id, $2 key, $3 now) and returns the key's encoding (NULL if
		// the key is absent); updateWrite ($1 id, $2 key, $3 the new
		// encoding) then sets it in the row it locked, stored as a JSON
		// string like every value.
		updateRead:  `SELECT data->>$2::text FROM ` + t + ` WHERE id = $1::text AND expires > $3::timestamptz FOR UPDATE`,
		updateWrite: `UPDATE ` + t + ` SET data = data || jsonb_build_object($2::text, $3::text) WHERE id = $1::text`,

		// Delete follows every renewal from $1 that has not expired,
		// however many (UNION, not UNION ALL, adds each ID once, so the
		// recursion ends on any data, a cycle included), and deletes
		// every row on the chain: the live session is at its end. It
		// returns how many rows on the chain the statement's snapshot
		// saw, how many it deleted and how many of those were live: a
		// row seen but not deleted was changed meanwhile by a concurrent
		// Renew (or deleted by someone else), and Delete runs again to
		// follow it.
		delete: `WITH RECURSIVE chain (id) AS (
	SELECT $1::text
	UNION
	SELECT r.new_id FROM chain c CROSS JOIN LATERAL (
		SELECT new_id FROM ` + n + ` WHERE id = c.id AND expires > $2::timestamptz LIMIT 1
	) AS r
), seen AS (
	SELECT count(*) AS n FROM ` + t + ` WHERE id = ANY (ARRAY(SELECT id FROM chain))
), d AS (
	DELETE FROM ` + t + ` WHERE id = ANY (ARRAY(SELECT id FROM chain))
	RETURNING expires > $2::timestamptz AS live
)
SELECT (SELECT n FROM seen), (SELECT count(*) FROM d), (SELECT count(*) FROM d WHERE live)`,

		// "user_id <> ''" repeats the partial index's predicate, so that
		// even a generic plan (a prepared statement, $1 unknown) can use
		// the index.
		sessions:   `SELECT id, ` + info + ` FROM ` + t + ` WHERE user_id = $1 AND user_id <> '' AND expires > $2`,
		deleteUser: `DELETE FROM ` + t + ` WHERE user_id = $1 AND user_id <> '' AND id <> $2`,

		// CapUser, in a transaction: capLock ($1 the key) serialises the
		// CapUsers of one user; capList, a statement of its own so that
		// its snapshot is taken once the lock is held, lists and locks the
		// user's live sessions ($1 user, $2 now); capDelete deletes those
		// to end ($1 their IDs).
		capLock:   `SELECT pg_advisory_xact_lock($1::bigint)`,
		capList:   `SELECT id, ` + info + ` FROM ` + t + ` WHERE user_id = $1 AND user_id <> '' AND expires > $2 FOR UPDATE`,
		capDelete: `DELETE FROM ` + t + ` WHERE id = ANY ($1::text[])`,
		purge: `DELETE FROM ` + t + ` WHERE id IN (SELECT id FROM ` + t + ` WHERE expires <= $1 LIMIT ` + batch + `)
	AND expires <= $1`,
		purgeRenewed: `DELETE FROM ` + n + ` WHERE id IN (SELECT id FROM ` + n + ` WHERE expires <= $1 LIMIT ` + batch + `)
	AND expires <= $1`,
		purgeDenied: `DELETE FROM ` + dn + ` WHERE (user_id, id) IN (SELECT user_id, id FROM ` + dn + ` WHERE expires <= $1 LIMIT ` + batch + `)
	AND expires <= $1`,
		// A user's row is purged once its mark and its denied IDs have
		// all expired: GREATEST ignores a NULL denied_until (no Deny
		// since version 4), and the purge index is on this expression.
		purgeMarks: `DELETE FROM ` + r + ` WHERE GREATEST(expires, denied_until) <= $1::timestamptz`,

		// SetRevocation, two statements sent as one batch, which
		// PostgreSQL runs as one implicit transaction (one Sync): the
		// first sets the mark and resets the count of Denys, locking the
		// user's row, which every Deny locks first too; the second, a
		// statement of its own whose snapshot is taken once that lock is
		// held, so that it sees every Deny that committed before, drops
		// the user's denied IDs but Keep. denied_until stays: the kept
		// ID may still be live.
		setRevocation: `INSERT INTO ` + r + ` (user_id, before, keep, expires) VALUES ($1::text, $2::timestamptz, $3::text, $4::timestamptz)
ON CONFLICT (user_id) DO UPDATE SET before = EXCLUDED.before, keep = EXCLUDED.keep, expires = EXCLUDED.expires, denied = 0`,
		dropDenied: `DELETE FROM ` + dn + ` WHERE user_id = $1::text AND id <> $2::text`,
		// Deny, one statement ($1 user, $2 id, $3 renewed, $4 expires,
		// $5 driver.MaxDenied): m counts the Deny in the user's row
		// (creating one without a mark, whose before and expires are
		// -infinity, if there is none), unless the limit is reached, and
		// locks the row; under READ COMMITTED, a concurrent Deny or
		// SetRevocation waits for the lock, and then ON CONFLICT judges
		// the limit on the row's latest version, so the count is exact.
		// Only if m counted it does d add the ID, or merge it into its
		// entry: a second Deny never shortens a denial, nor weakens a
		// revocation (renewed false) into a renewal.
		deny: `WITH m AS (
	INSERT INTO ` + r + ` AS m (user_id, before, keep, expires, denied, denied_until)
	VALUES ($1::text, '-infinity', '', '-infinity', 1, $4::timestamptz)
	ON CONFLICT (user_id) DO UPDATE SET denied = m.denied + 1,
		denied_until = GREATEST(m.denied_until, EXCLUDED.denied_until)
	WHERE m.denied < $5::integer
	RETURNING 1
), d AS (
	INSERT INTO ` + dn + ` AS d (user_id, id, renewed, expires)
	SELECT $1::text, $2::text, $3::boolean, $4::timestamptz FROM m
	ON CONFLICT (user_id, id) DO UPDATE SET renewed = d.renewed AND EXCLUDED.renewed,
		expires = GREATEST(d.expires, EXCLUDED.expires)
)
SELECT count(*) FROM m`,
		// One query, on one snapshot: the aggregate always yields a row,
		// and the mark joins it if there is a live one. The denied IDs
		// are looked up by primary key, only those asked about ($3), so
		// the cost does not depend on how many the user has. Their
		// expiry is judged in the aggregate's FILTER rather than in the
		// WHERE clause, so that no plan can pick the expiry index instead
		// (a generic plan would, on some statistics) and walk every live
		// denial of the table.
		revocation: `SELECT m.before, m.keep, m.expires, d.ids, d.renewed
FROM (SELECT array_agg(id) FILTER (WHERE expires > $2::timestamptz) AS ids,
		array_agg(renewed) FILTER (WHERE expires > $2::timestamptz) AS renewed
	FROM ` + dn + ` WHERE user_id = $1::text AND id = ANY ($3::text[])) AS d
LEFT JOIN ` + r + ` AS m ON m.user_id = $1::text AND m.expires > $2::timestamptz`,

		versionTable:     suffixed(table, schemaSuffix),
		revocationsTable: rt,
		renewedTable:     nt,
		deniedTable:      dt,
	}
}
