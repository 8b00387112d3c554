#!/usr/bin/env bash
# Regenerates the whole study: every notebook executed headless, every figure and table of the report.
#   ./run_all.sh [--profile smoke|default|full|paper-synth] [--only NN ...] [--data-dir DIR] [--force]
#                [--fast-dev-run] [--weights resnet50=PATH ast=PATH] [--jobs N]
# Sets up .venv and the SoundFonts on first use. Interrupted and started again, it redoes only
# notebooks whose inputs changed or that did not finish. See README.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
bash scripts/bootstrap.sh
exec .venv/bin/python -m harmonylib.pipeline "$@"
