#!/usr/bin/env bash
# Runs govulncheck (pinned) on every module, against a vulnerability
# database built here from golang.org/x/vulndb (pinned), both fetched
# through the Go module proxy: vuln.go.dev is out of reach. It fails on a
# vulnerable function of a dependency that the code can reach; reachable
# ones of the standard library are listed, since only a newer Go toolchain
# fixes them (see .ci/vulnfilter).
set -euo pipefail
cd "$(dirname "$0")/.."
vulndb=golang.org/x/vulndb@v0.0.0-20261105234957-e22db6528018
govulncheck=golang.org/x/vuln/cmd/govulncheck@v1.9.0
db="${TMPDIR:-/tmp}/sesame-vulndb-${vulndb##*@}"
if [ ! -f "$db/index/db.json" ]; then
  src=$(go mod download -json "$vulndb" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  rm -rf "$db.tmp"
  go run "golang.org/x/vulndb/cmd/indexdb@${vulndb##*@}" -vulns "$src/data/osv" -out "$db.tmp"
  mv "$db.tmp" "$db"
fi
root=$PWD
for mod in . bench browser examples otelsesame; do
  echo "--- govulncheck $mod"
  (cd "$mod" && go run "$govulncheck" -db "file://$db" -format json ./...) | go run "$root/.ci/vulnfilter"
done
