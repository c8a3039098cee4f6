#!/usr/bin/env bash
# Fails when a tracked file is build output: an executable binary (ELF,
# Mach-O or PE, or a file with the executable bit that is not a script),
# or any file over 1 MiB not listed in .ci/large-files.
set -euo pipefail
cd "$(dirname "$0")/.."
limit=$((1024 * 1024))
allowed=$(grep -v '^#' .ci/large-files 2>/dev/null || true)
bad=0
while read -r mode _ _ path; do
  [ -f "$path" ] || continue
  magic=$(head -c 4 "$path" | od -An -tx1 | tr -d ' \n')
  case "$magic" in
  7f454c46 | cffaedfe | cefaedfe | feedface | feedfacf | 4d5a*)
    echo "tracked binary: $path"; bad=1; continue ;;
  esac
  if [ "$mode" = 100755 ] && [ "$(head -c 2 "$path")" != '#!' ]; then
    echo "tracked executable that is not a script: $path"; bad=1
  fi
  size=$(stat -c %s "$path")
  if [ "$size" -gt "$limit" ] && ! grep -qxF "$path" <<<"$allowed"; then
    echo "tracked file over 1 MiB ($size bytes), not in .ci/large-files: $path"; bad=1
  fi
done < <(git ls-files -s)
exit "$bad"
