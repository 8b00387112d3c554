#!/usr/bin/env bash
# The test command (CI runs exactly this):
#   1. ./run_all.sh --profile smoke, end to end (every notebook with its exercises' solutions, the
#      experiment grid, the HTML report);
#   2. ./run_all.sh --profile full --fast-dev-run on a fixture in the real data layouts, with
#      checkpoints in the formats of the pretrained ResNet-50 and AST (python -m harmonylib
#      make-fixture --weights; random weights): every notebook and experiment at the paper's model
#      sizes and settings, one optimiser step each, the central 2 s of two clips per evaluation split,
#      without the solutions and the HTML report step 1 has made;
#   3. pytest: the unit tests in tests/, and checks of what step 1 left behind instead of running it
#      again: the printed outputs of its notebooks against tests/nbval/, the figures every notebook
#      saved, its benchmark, and a second run of two notebooks compared byte for byte with it.
# Steps 1 and 2 execute two notebooks at a time (--jobs 2; their timings mean nothing here) in kernels
# forked from one process that has imported torch and the other heavy libraries once (the default on Linux);
# step 3 runs the test files in two processes (pytest-xdist).
# Everything is written under build/test/, so the committed figures/ are never touched.
#   ./run_tests.sh [extra pytest arguments]    (-n 0: pytest in one process, e.g. to debug with --pdb)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
bash scripts/bootstrap.sh
# the run writes about 3.5 GiB under build/test (the paper-size checkpoints of the fast dev run: 1.7 GiB)
free_kib=$(df -Pk "$PWD" | awk 'NR == 2 {print $4}')
if [ "$free_kib" -lt $((4 * 1024 * 1024)) ]; then
    echo "run_tests: only $((free_kib / 1024)) MiB free on the disk of $PWD; the test run needs about 4 GiB" >&2
    exit 1
fi
export HARMONY_PROFILE=smoke
export HARMONY_BUILD_DIR="$PWD/build/test"
export HARMONY_FIGURES_DIR="$HARMONY_BUILD_DIR/figures"
export HARMONY_DATA_DIR="${HARMONY_DATA_DIR:-$PWD/data}"
export HARMONY_REQUIRE_SMOKE_RUN=1
export MPLBACKEND=Agg
.venv/bin/python -m harmonylib.pipeline --profile smoke --jobs 2
fixture="$HARMONY_BUILD_DIR/fixture"
rm -rf "$fixture" && .venv/bin/python -m harmonylib make-fixture "$fixture" --weights
.venv/bin/python -m harmonylib.pipeline --profile full --data-dir "$fixture" --fast-dev-run --jobs 2 --no-report \
    --weights resnet50="$fixture/weights/resnet50.tv_in1k-random" ast="$fixture/weights/ast-finetuned-audioset-10-10-0.4593-random"
exec .venv/bin/python -m pytest tests -p no:cacheprovider -n 2 --dist loadfile "$@"
