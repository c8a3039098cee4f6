#!/usr/bin/env bash
# Runs the end-to-end load test (./e2e) from this directory, installing wrk
# with apt-get first if it is missing. Arguments go to the command, e.g.
#   bench/e2e.sh -rounds 1 -duration 2s
set -euo pipefail

if ! command -v wrk >/dev/null 2>&1; then
	echo "e2e.sh: wrk is missing; installing it with apt-get" >&2
	sudo=()
	if [ "$(id -u)" -ne 0 ]; then
		sudo=(sudo)
	fi
	"${sudo[@]}" apt-get update
	"${sudo[@]}" apt-get install -y wrk
fi

cd "$(dirname "${BASH_SOURCE[0]}")"
exec go run ./e2e "$@"
