#!/usr/bin/env bash
# Runs the browser tests (module browser/) in a real headless Chromium,
# installing Debian's chromium package first when it is missing. Called
# from .ci/run; also usable alone: bash .ci/browser.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CI="${CI:-true}"

if [ -n "${SESAME_CHROMIUM:-}" ]; then
  echo "chromium: SESAME_CHROMIUM=$SESAME_CHROMIUM"
elif [ -x /usr/bin/chromium ] || command -v chromium >/dev/null 2>&1; then
  echo "chromium: already installed"
else
  echo "chromium: installing Debian's chromium package"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
"${SESAME_CHROMIUM:-chromium}" --version 2>/dev/null | grep -i chromium || true

cd browser
go vet ./...
go test -count=1 ./...
