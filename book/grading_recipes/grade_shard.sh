#!/usr/bin/env bash
# Grade shard I of N of a folder of submissions: the one command every engine
# below runs (Slurm array task, GitHub Actions matrix job, Kubernetes index).
#   usage: grade_shard.sh I N        (I is 1-based)
#   SUBMISSIONS  folder of *.ipynb (default submissions)
#   OUT          folder for partI.csv and partI.json (default grades)
#   HIDDEN       the private hidden-tests folder, chmod 700 (optional)
#   PYTHON       the Python that has cnnlib[grading] (default python3)
#   GRADE_ARGS   more options for `grade`, e.g. "--jobs 2 --timeout 300"
set -euo pipefail
i=${1:?usage: grade_shard.sh I N}
n=${2:?usage: grade_shard.sh I N}
submissions=${SUBMISSIONS:-submissions}
out=${OUT:-grades}
mkdir -p "$out"
extra=()
if [ -n "${HIDDEN:-}" ]; then extra+=(--tests "$HIDDEN"); fi
# shellcheck disable=SC2086  # GRADE_ARGS is a list of options
"${PYTHON:-python3}" -m cnnlib.grading grade "$submissions"/*.ipynb --shard "$i/$n" \
  --out "$out/part$i.csv" --json "$out/part$i.json" ${extra[@]+"${extra[@]}"} ${GRADE_ARGS:-}
