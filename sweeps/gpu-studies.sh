#!/usr/bin/env bash
# How the label-budget and tuned-recipe runs of the book were made: both studies at once on one GPU
# machine (one H200, 16 CPU cores), 14 worker processes of one CPU thread each sharing the GPU.
# The device is not part of a run's identity (RunConfig.NON_SEMANTIC): `jade study` on any machine
# reuses these runs; each config.json records the device and the versions it ran with. Without a GPU
# the same studies run with `jade study budget` / `jade study recipe` (days of CPU time on 2 cores).
#   JADE_DATA_DIR=/path/to/mirror bash sweeps/gpu-studies.sh [seconds] [out.tar.gz]
set -uo pipefail
limit=${1:-420}
out=${2:-studies.tar.gz}
source "$(dirname "$0")/gpu-check.sh"  # a CUDA device, and a tiny JADE run on it
timeout "$limit" python3 -m jade_core study budget --workers 9 --device cuda > budget.log 2>&1 &
timeout "$limit" python3 -m jade_core study recipe --workers 5 --device cuda > recipe.log 2>&1 &
wait
nvidia-smi --query-gpu=name,memory.used,utilization.gpu --format=csv || true
# the finished runs, without weights (the book loads none of them) and without unfinished folders
tar czf "$out" --exclude=weights.pt --exclude='*.partial' results/label-budget results/recipe budget.log recipe.log
