#!/usr/bin/env bash
# Builds otelsesame the way a user's `go get` would after a release: the
# root module is served, at a pseudo-version of HEAD, by a module proxy in a
# local directory (the files a real proxy serves: list, .info, .mod, .zip),
# and a copy of otelsesame requires that version with no replace directive.
# See RELEASING.md. Other modules come from the usual proxy.
set -euo pipefail
cd "$(dirname "$0")/.."
mod=github.com/sesame-go/sesame
stamp=$(TZ=UTC git log -1 --format=%cd --date=format-local:%Y%m%d%H%M%S HEAD)
version="v0.0.0-${stamp}-$(git rev-parse --short=12 HEAD)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dir="$work/proxy/$mod/@v"
mkdir -p "$dir"
echo "$version" > "$dir/list"
printf '{"Version":"%s","Time":"%s"}\n' "$version" "$(TZ=UTC git log -1 --format=%cd --date=format-local:%Y-%m-%dT%H:%M:%SZ HEAD)" > "$dir/$version.info"
cp go.mod "$dir/$version.mod"
# The module zip: the tracked files of the root module, under
# module@version/, without the nested modules (directories with a go.mod).
git ls-files -z | go run ./.ci/modzip "$mod@$version" "$dir/$version.zip"
cp -r otelsesame "$work/otelsesame"
cd "$work/otelsesame"
export GOFLAGS=-mod=mod GONOSUMDB="$mod" GOPROXY="file://$work/proxy,${GOPROXY:-https://proxy.golang.org}"
go mod edit -dropreplace "$mod" -require "$mod@$version"
go mod tidy
go build ./...
go vet ./...
echo "otelsesame builds against $mod@$version from a module proxy, without replace"
