#!/usr/bin/env bash
# The test command (CI runs exactly this):
#   1. ./run_all.sh --profile smoke, end to end (every notebook, the experiment grid, the HTML report);
#   2. ./run_all.sh --profile full --fast-dev-run on a fixture in the real data layouts, with
#      checkpoints in the formats of the pretrained ResNet-50 and AST (python -m harmonylib
#      make-fixture --weights; random weights): every notebook and experiment at the paper's model
#      sizes and settings, 2 optimiser steps each;
#   3. pytest: the unit tests in tests/, and the printed outputs of the notebooks step 1 executed
#      against their references in tests/nbval/ (tests/test_notebook_outputs.py; no notebook runs twice).
# Everything is written under build/test/, so the committed figures/ are never touched.
#   ./run_tests.sh [extra pytest arguments]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
bash scripts/bootstrap.sh
export HARMONY_PROFILE=smoke
export HARMONY_BUILD_DIR="$PWD/build/test"
export HARMONY_FIGURES_DIR="$HARMONY_BUILD_DIR/figures"
export HARMONY_DATA_DIR="${HARMONY_DATA_DIR:-$PWD/data}"
export HARMONY_REQUIRE_SMOKE_RUN=1
export MPLBACKEND=Agg
.venv/bin/python -m harmonylib.pipeline --profile smoke
fixture="$HARMONY_BUILD_DIR/fixture"
rm -rf "$fixture" && .venv/bin/python -m harmonylib make-fixture "$fixture" --weights
.venv/bin/python -m harmonylib.pipeline --profile full --data-dir "$fixture" --fast-dev-run \
    --weights resnet50="$fixture/weights/resnet50.tv_in1k-random" ast="$fixture/weights/ast-finetuned-audioset-10-10-0.4593-random"
exec .venv/bin/python -m pytest tests -p no:cacheprovider "$@"
