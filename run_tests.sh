#!/usr/bin/env bash
# The test command (CI runs exactly this):
#   1. ./run_all.sh --profile smoke, end to end (every notebook, the experiment grid, the HTML report);
#   2. pytest: the unit tests in tests/ and nbval over every notebook at the smoke profile (the
#      evaluation notebooks read the training runs of step 1).
# Everything is written under build/test/, so the committed figures/ are never touched.
#   ./run_tests.sh [extra pytest arguments]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
bash scripts/bootstrap.sh
export HARMONY_PROFILE=smoke
export HARMONY_BUILD_DIR="$PWD/build/test"
export HARMONY_FIGURES_DIR="$HARMONY_BUILD_DIR/figures"
export HARMONY_DATA_DIR="${HARMONY_DATA_DIR:-$PWD/data}"
export MPLBACKEND=Agg
.venv/bin/python -m harmonylib.pipeline --profile smoke
rm -rf "$HARMONY_BUILD_DIR/nbval"
.venv/bin/python -m harmonylib.pipeline --nbval-into "$HARMONY_BUILD_DIR/nbval"
exec .venv/bin/python -m pytest tests "$HARMONY_BUILD_DIR/nbval" --nbval-lax -p no:cacheprovider "$@"
