#!/usr/bin/env bash
# The benchmark's own environment for the peers: real Keras 3 on its torch backend, and kornia (the
# augmentation peer of bench/augment_throughput.py --part policies), kept apart from striate (never a
# striate dependency). torch is not downloaded again: the venv sees the torch
# already installed next to striate through a .pth file, after its own packages.
#
#   bash bench/setup_bench_venv.sh [VENV_DIR]   (default: bench-venv beside the checkout, or $STRIATE_BENCH_VENV)
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(dirname "$HERE")"
VENV="${1:-${STRIATE_BENCH_VENV:-$(dirname "$REPO")/bench-venv}}"
PYTHON="${PYTHON:-$REPO/.venv/bin/python}"
if [ ! -x "$VENV/bin/python" ]; then
  BASE="$("$PYTHON" -c 'import sys; print(sys._base_executable)')"
  "$BASE" -m venv "$VENV"
fi
TORCH_SITE="$("$PYTHON" -c 'import os, torch; print(os.path.dirname(os.path.dirname(torch.__file__)))')"
SITE="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
# only torch (and what it needs) is taken from there; everything Keras needs is installed here
echo "$TORCH_SITE" > "$SITE/zz-shared-torch.pth"
if ! KERAS_BACKEND=torch "$VENV/bin/python" -c 'import keras' 2>/dev/null; then
  "$VENV/bin/pip" install --quiet --ignore-installed keras
fi
KERAS_BACKEND=torch "$VENV/bin/python" -c 'import keras, torch; print("keras", keras.__version__, "backend", keras.backend.backend(), "torch", torch.__version__)'
if ! "$VENV/bin/python" -c 'import kornia' 2>/dev/null; then
  "$VENV/bin/pip" install --quiet kornia  # its torch requirement is met by the shared torch
fi
"$VENV/bin/python" -c 'import kornia; print("kornia", kornia.__version__)'
