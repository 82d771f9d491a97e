#!/usr/bin/env bash
# The grid still to run, prepared for one session on a GPU machine (the device tool lends one H200 or H100 and
# 16 CPU cores to some sessions, 10 minutes a command): the tuned recipe re-chosen on the search seeds and its
# final runs (jade study recipe-remake: 15 search runs, then 15 final runs), many runs side by side on the one
# GPU, each a 1-thread worker. The study stops after its search, naming the fields to edit, if the rule chose
# another recipe than sweeps/recipe-remake.yml trains; the search runs still come back.
# The search has run (on the 2-core CPU, committed: it chose the recipe sweeps/recipe-remake.yml trains), so
# the study goes straight to the final runs, reusing finished ones and resuming partial ones; runs made here
# and on the CPU differ in device only, which the Table 1 page's arithmetic caveat names. Not yet run on a GPU.
# (The w_match dose-response and the equal-steps label-budget study, which this script first
# held, were made on a 2-core CPU instead.)
# The device is not part of a run's identity (RunConfig.NON_SEMANTIC); every comparison inside the study
# shares its device, and the chapters' arithmetic caveats name the devices of each comparison
# (jade_core.experiments.audit.arithmetic).
#   JADE_DATA_DIR=/path/to/mirror bash sweeps/gpu-grids.sh [seconds] [out.tar.gz]
set -uo pipefail
limit=${1:-540}
out=${2:-grids.tar.gz}
source "$(dirname "$0")/gpu-check.sh"  # a CUDA device, and a tiny JADE run on it
start=$(date +%s)
timeout "$limit" python3 -m jade_core study recipe-remake --workers 15 --device cuda > recipe-remake.log 2>&1
echo "grids: $(( $(date +%s) - start )) s on the GPU" | tee grids-time.txt
nvidia-smi --query-gpu=name,memory.used,utilization.gpu --format=csv || true
# the finished runs, without weights (no chapter loads them) and without unfinished folders
tar czf "$out" --exclude=weights.pt --exclude='*.partial' results/search/recipe results/recipe-remake \
    recipe-remake.log grids-time.txt
