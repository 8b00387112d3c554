#!/usr/bin/env bash
# The test command (CI runs exactly this): unit tests in tests/ plus nbval over every notebook at
# the smoke profile. Outputs go to build/test/, so the committed figures/ are never touched.
#   ./run_tests.sh [extra pytest arguments]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
bash scripts/bootstrap.sh
export HARMONY_PROFILE=smoke
export HARMONY_BUILD_DIR="$PWD/build/test"
export HARMONY_FIGURES_DIR="$HARMONY_BUILD_DIR/figures"
export HARMONY_DATA_DIR="${HARMONY_DATA_DIR:-$PWD/data}"
export MPLBACKEND=Agg
rm -rf "$HARMONY_BUILD_DIR/nbval"
.venv/bin/python -m harmonylib.pipeline --nbval-into "$HARMONY_BUILD_DIR/nbval"
exec .venv/bin/python -m pytest tests "$HARMONY_BUILD_DIR/nbval" --nbval-lax -p no:cacheprovider "$@"
