#!/usr/bin/env bash
# The grids still to run, prepared for one session on a GPU machine (the device tool lends one H200 and
# 16 CPU cores to some sessions, 10 minutes a command): the w_match dose-response (30 runs) and the
# re-made label-budget study (45 runs), many runs side by side on the one GPU, each a 1-thread worker.
# Not yet run: no session so far was lent a GPU after these grids were defined.
# The device is not part of a run's identity (RunConfig.NON_SEMANTIC), so the doses 0 and 100 and the
# 100-label point stay the re-made Table 1's CPU runs: the chapters' arithmetic caveats name the devices
# of each comparison (jade_core.experiments.audit.arithmetic).
#   JADE_DATA_DIR=/path/to/mirror bash sweeps/gpu-grids.sh [seconds] [out.tar.gz]
set -uo pipefail
limit=${1:-540}
out=${2:-grids.tar.gz}
source "$(dirname "$0")/gpu-check.sh"  # a CUDA device, and a tiny JADE run on it
start=$(date +%s)
timeout "$limit" python3 -m jade_core sweep sweeps/matching-dose.yml --workers 8 --device cuda > dose.log 2>&1 &
timeout "$limit" python3 -m jade_core sweep sweeps/label-budget.yml --workers 8 --device cuda > budget.log 2>&1 &
wait
echo "grids: $(( $(date +%s) - start )) s on the GPU" | tee grids-time.txt
nvidia-smi --query-gpu=name,memory.used,utilization.gpu --format=csv || true
# the finished runs, without weights (no chapter loads them) and without unfinished folders
tar czf "$out" --exclude=weights.pt --exclude='*.partial' results/matching-dose results/label-budget-equal-steps \
    dose.log budget.log grids-time.txt
