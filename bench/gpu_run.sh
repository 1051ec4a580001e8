#!/usr/bin/env bash
# Issue 21's GPU run in one command of at most 8 minutes: bench/gpu_suite.py (MNIST to 99%, CIFAR-10 to 94%
# against airbench94, ResNet-50 bf16 images/s, NCCL DDP), its log and JSON written to $OUT.
#
# 1. Here, once, before asking for the GPU machine: copy the data into bench/.device/ (git-ignored; the device
#    tool carries it, ../shared does not travel), and place airbench94.py from github.com/KellerJordan/
#    cifar10-airbench in bench/peers/external/ by hand (git-ignored; without it the CIFAR-10 row runs striate alone):
#        bash bench/gpu_run.sh prepare
# 2. Through the device tool: run with command "bash bench/gpu_run.sh", carry ["bench/.device",
#    "bench/peers/external"] and timeout_s 540 (the suite stops itself at 470 s; a rerun fits the 15 minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = prepare ]; then
    shared=${STRIATE_SHARED_DATA:-../shared/data}
    mkdir -p bench/.device/data/mnist bench/.device/data/cifar10-jpeg bench/peers/external
    cp "$shared"/mnist/*.gz bench/.device/data/mnist/
    cp "$shared/cifar10-jpeg/cifar10-jpeg.tar.gz" bench/.device/data/cifar10-jpeg/
    [ -f bench/peers/external/airbench94.py ] || echo "note: bench/peers/external/airbench94.py is absent"
    du -sh bench/.device bench/peers/external
    exit 0
fi
out=${OUT:-bench/results}
mkdir -p "$out"
export PYTHONPATH="$PWD/src" PYTHONUNBUFFERED=1 STRIATE_SHARED_DATA="$PWD/bench/.device/data" \
    STRIATE_BENCH_CACHE=/tmp/striate-bench STRIATE_CACHE=/tmp/striate-cache
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm --format=csv || true
python3 bench/gpu_suite.py --out "$out/gpu_suite.json" 2>&1 | tee "$out/gpu_suite.log"
