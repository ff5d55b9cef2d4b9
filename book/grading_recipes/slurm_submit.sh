#!/usr/bin/env bash
# Queue the 8 grading tasks, then the merge, which waits until all succeeded.
# Run from the folder that holds submissions/, hidden/ and grading_recipes/.
set -euo pipefail
mkdir -p logs
export HIDDEN=${HIDDEN:-hidden}
array=$(sbatch --parsable --export=ALL grading_recipes/slurm_grade.sbatch)
sbatch --dependency="afterok:$array" --job-name=grade-merge --output=logs/merge_%j.out \
  --export=ALL --wrap "bash grading_recipes/merge_shards.sh 8"
echo "queued array job $array and its merge; gradebook: grades/grades.csv"
