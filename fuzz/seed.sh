#!/usr/bin/env bash
# Seeds the fuzz corpora with every playbook and fixture (*.ops under
# playbooks/, tests/ and examples/) plus the hand-written seeds in fuzz/seeds/.
# Usage: fuzz/seed.sh            (from anywhere)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
for target in check dry_run; do
  corpus="$here/corpus/$target"
  mkdir -p "$corpus"
  n=0
  while IFS= read -r -d '' file; do
    # Flatten the path into a unique file name.
    name="$(realpath --relative-to="$root" "$file" | tr '/' '_')"
    cp "$file" "$corpus/$name"
    n=$((n + 1))
  done < <(find "$root/playbooks" "$root/tests" "$root/examples" "$here/seeds" \
             -name '*.ops' -type f -print0 2>/dev/null)
  echo "$target: $n seeds in $corpus"
done
