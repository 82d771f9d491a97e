#!/usr/bin/env bash
# The grid being re-made (book/matrix.yml, remaking:), prepared for one session on a GPU machine (the device
# tool lends one H100 or H200 and 16 CPU cores to some sessions, 10 minutes a command): the label-budget
# study's JADE in Table 1's configuration (sweeps/label-budget-warmup.yml, 30 JADE runs of 2,400 steps), many
# runs side by side on the one GPU, each a 1-thread worker. Finished runs are reused (the study's single and
# paired runs, made on the CPU, are found by configuration: the device is not part of a run's identity,
# RunConfig.NON_SEMANTIC), and the budget chapter's arithmetic caveat names the devices inside each comparison
# (jade_core.experiments.audit.arithmetic). To keep one device kind within the study instead, re-make all 90
# of its runs on the GPU into another output folder and point the chapter at it. Not yet run on a GPU.
#   JADE_DATA_DIR=/path/to/mirror bash sweeps/gpu-grids.sh [seconds] [out.tar.gz]
set -uo pipefail
limit=${1:-540}
out=${2:-grids.tar.gz}
source "$(dirname "$0")/gpu-check.sh"  # a CUDA device, and a tiny JADE run on it
start=$(date +%s)
timeout --signal=INT "$limit" python3 -m jade_core sweep sweeps/label-budget-warmup.yml --workers 15 --device cuda \
    > label-budget-warmup.log 2>&1  # SIGINT at the limit: the sweep stops, its runs resumable
echo "grids: $(( $(date +%s) - start )) s on the GPU" | tee grids-time.txt
nvidia-smi --query-gpu=name,memory.used,utilization.gpu --format=csv || true
# the finished runs, without weights (no chapter loads them) and without unfinished folders
tar czf "$out" --exclude=weights.pt --exclude='*.partial' results/label-budget-equal-steps label-budget-warmup.log \
    grids-time.txt
