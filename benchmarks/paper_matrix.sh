#!/usr/bin/env bash
# Train the paper-profile matrix (3 variants x seeds) on the local protocol,
# seed by seed so an interrupted sitting leaves balanced results; finished runs
# are reused and unfinished ones resume. Logs wall time per run.
#   JADE_DATA_DIR=../shared/data bash benchmarks/paper_matrix.sh 0 1 2 3 4
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=${*:-0 1 2 3 4}
start=$(date +%s)
for s in $seeds; do
  for v in single paired jade; do
    t0=$(date +%s)
    .venv/bin/jade train --variant "$v" --seed "$s" --profile paper
    echo "[matrix] $v seed $s: $(( $(date +%s) - t0 )) s wall"
  done
done
echo "[matrix] total: $(( $(date +%s) - start )) s wall for seeds $seeds"
