#!/usr/bin/env bash
# Merge the N shards' JSON gradebooks into OUT/grades.csv and OUT/grades.json,
# after checking that every shard finished (a lost shard would lose students).
#   usage: merge_shards.sh N         (same OUT and PYTHON as grade_shard.sh)
set -euo pipefail
n=${1:?usage: merge_shards.sh N}
out=${OUT:-grades}
parts=()
for ((i = 1; i <= n; i++)); do
  if [ ! -s "$out/part$i.json" ]; then
    echo "merge: $out/part$i.json is missing: shard $i/$n did not finish; rerun it, then merge again" >&2
    exit 1
  fi
  parts+=("$out/part$i.json")
done
"${PYTHON:-python3}" -m cnnlib.grading merge "${parts[@]}" --out "$out/grades.csv" --json "$out/grades.json"
