#!/usr/bin/env bash
# The GPU check of the study (benchmarks/README.md, "gpu_check"): one prepared run on a machine with a GPU that
# ends inside --budget seconds (default 570, under ten minutes):
#   1. packages: where .whl/ holds wheels, they are installed into a scratch folder first (for a machine whose
#      python3 has torch but not the study's other packages; `--fetch-wheels` downloads them beforehand on a
#      machine that reaches the package index). Without .venv/ the system python3 runs everything.
#   2. the measurement, benchmarks/gpu_check.py: the five models at the profile's settings (training samples/s
#      end to end and model only, pipeline efficiency, FLOPs and model FLOP utilisation, GPU utilisation) and the
#      hours of the whole chapter-5 grid -> benchmarks/results/gpu-<device>.md and .json, its log beside them.
#      It writes its own stand-in clips, so it needs no rendered data, and runs first, so that a slow fast dev
#      run cannot take its time.
#   3. the fast dev run (every notebook and experiment at the profile's sizes, one optimiser step each) with the
#      time left, two notebooks per --jobs: of the profile itself when it is synthetic and both SoundFonts are
#      found (it renders the profile's data first: at paper-synth that alone can take longer than the budget;
#      a later run resumes the render), else of `full` on the fixture in the real data layouts (python -m
#      harmonylib make-fixture), which needs no SoundFont; log -> benchmarks/results/gpu-<device>-fast-dev-run.log,
#      outcome appended to the report.
# Usage, from anywhere:
#   bash benchmarks/gpu_check.sh [--device cuda] [--profile paper-synth] [--budget S] [--jobs N]
#                                [--no-fast-dev-run] [-- more gpu_check.py options, e.g. --steps 300 --compile]
#   bash benchmarks/gpu_check.sh --device cpu --tiny   # the CPU dry run: tiny sizes, seconds; no fast dev run
#   bash benchmarks/gpu_check.sh --fetch-wheels        # download the wheels of WHEELS for Python 3.12 into .whl/
# Exit status: 0 when the report was written and the fast dev run finished, was skipped or ran out of budget;
# 1 when the measurement or the fast dev run failed.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"
RESULTS="$ROOT/benchmarks/results"

# The study's packages missing from a Python 3.12 that already holds torch, torchaudio, timm, transformers,
# numpy, scipy, pandas, scikit-learn, statsmodels, numba, matplotlib and seaborn, at the versions .venv installs
# from pyproject.toml's pins (tests/test_environment.py checks).
WHEELS=(asttokens==3.0.2 attrs==26.1.0 audioread==3.1.0 certifi==2026.10.19.post1 cffi==2.1.1 charset-normalizer==3.5.3
        idna==3.20 lazy-loader==0.6 msgpack==1.2.4 psutil==7.2.2 requests==2.34.2 tabulate==0.10.0 urllib3==2.8.0
        xarray==2026.9.0 comm==0.2.3 debugpy==1.8.22 decorator==5.3.1
        entrypoints==0.4.2 executing==2.3.0 fastjsonschema==2.22.3 ipykernel==7.4.0 ipython==9.18.1
        ipython-pygments-lexers==1.1.1 jedi==0.20.1 jsonschema==4.26.0 jsonschema-specifications==2025.9.1
        jupyter-client==8.10.0 jupyter-core==5.9.1 jupytext==1.19.6 librosa==0.11.0 matplotlib-inline==0.2.2
        mdit-py-plugins==0.7.0 nbclient==0.11.0 nbformat==5.11.1 nest-asyncio2==1.7.4 pandas-flavor==0.8.1
        papermill==2.7.0 parso==0.8.7 pexpect==4.9.0 pingouin==0.7.0 platformdirs==4.14.9 pooch==1.9.0
        prompt-toolkit==3.0.53 ptyprocess==0.7.0 pure-eval==0.2.4 pycparser==3.12 pyzmq==27.3.0
        referencing==0.37.0 rpds-py==2026.9.1 soundfile==0.14.0 soxr==1.1.0 stack-data==0.6.3 tenacity==9.2.1
        tinysoundfont==0.3.7 tornado==6.6.1 traitlets==5.16.1 wcwidth==0.9.4)

DEVICE="" PROFILE=paper-synth BUDGET=570 JOBS=4 TINY="" FAST_DEV_RUN=1 EXTRA=()
while [ $# -gt 0 ]; do
    case "$1" in
        --device) DEVICE="$2"; shift 2 ;;
        --profile) PROFILE="$2"; shift 2 ;;
        --budget) BUDGET="$2"; shift 2 ;;
        --jobs) JOBS="$2"; shift 2 ;;
        --tiny) TINY=--tiny; FAST_DEV_RUN=""; shift
                # numba's and torch's OpenMP threads otherwise spin between operations and, on a CPU with few
                # cores, slow each other tenfold
                export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}" ;;
        --no-fast-dev-run) FAST_DEV_RUN=""; shift ;;
        --fetch-wheels)
            platforms=()
            for tag in manylinux_2_17 manylinux_2_24 manylinux_2_27 manylinux_2_28 manylinux_2_31 manylinux_2_34 \
                       manylinux_2_35 manylinux2014 manylinux1; do platforms+=(--platform "${tag}_x86_64"); done
            exec python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
                "${platforms[@]}" -d .whl "${WHEELS[@]}" ;;
        --) shift; EXTRA=("$@"); break ;;
        *) echo "gpu_check.sh: unknown option $1 (see the comment at the top of the script)" >&2; exit 2 ;;
    esac
done

left() { echo $((BUDGET - SECONDS)); }
PY=python3
[ -x .venv/bin/python ] && PY=.venv/bin/python
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 MPLBACKEND=Agg
if compgen -G ".whl/*.whl" >/dev/null; then
    SITE="${TMPDIR:-/tmp}/harmony-site"
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" .whl/*.whl ||
        { echo "gpu_check.sh: installing the wheels in .whl/ failed" >&2; exit 1; }
    export PYTHONPATH="$SITE:$PYTHONPATH"
    echo "wheels of .whl/ installed into $SITE ($SECONDS s)"
fi
mkdir -p "$RESULTS"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total,utilization.gpu --format=csv

# 2. the measurement
log="$(mktemp)"
measure=("$PY" benchmarks/gpu_check.py --profile "$PROFILE" ${DEVICE:+--device "$DEVICE"} $TINY "${EXTRA[@]}")
limit=$(( $(left) - 60 ))  # leaves the fast dev run a minute at least
[ "$limit" -gt 0 ] || { echo "gpu_check.sh: a budget of $BUDGET s leaves no time to measure" >&2; exit 1; }
echo "measurement: ${measure[*]} (at most $limit s)"
timeout --kill-after=15 "$limit" "${measure[@]}" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
report="$(sed -n 's/^report: //p' "$log" | tail -n 1)"
if [ "$status" -ne 0 ] || [ -z "$report" ]; then
    mv "$log" "$RESULTS/gpu-check-failed.log"
    echo "gpu_check.sh: the measurement failed (exit $status); log: $RESULTS/gpu-check-failed.log" >&2
    exit 1
fi
mv "$log" "${report%.md}.log"

# 3. the fast dev run
if [ -z "$FAST_DEV_RUN" ]; then
    reason="left out with --no-fast-dev-run"
    [ -n "$TINY" ] && reason="a dry run"
    printf '\n## Fast dev run\n\nNot run: %s.\n' "$reason" >> "$report"
    exit 0
fi
if [ "$(left)" -lt 80 ]; then
    printf '\n## Fast dev run\n\nNot run: %s s of the %s-s budget were left.\n' "$(left)" "$BUDGET" >> "$report"
    exit 0
fi
fdr_log="${report%.md}-fast-dev-run.log"
: > "$fdr_log"
if "$PY" -c "import sys; from harmonylib.config import get_profile; from harmonylib.data.synth import \
SOUNDFONTS, find_soundfont; get_profile('$PROFILE').data.source == 'synth' or sys.exit(1); \
[find_soundfont(name) for name in SOUNDFONTS]" 2>/dev/null; then
    run=(--profile "$PROFILE" --fast-dev-run)
    why="of \`$PROFILE\` itself (its data rendered from the SoundFonts first)"
else
    fixture="${HARMONY_BUILD_DIR:-$ROOT/build}/gpu-check-fixture"
    rm -rf "$fixture" && "$PY" -m harmonylib make-fixture "$fixture" --weights >> "$fdr_log" 2>&1
    run=(--profile full --data-dir "$fixture" --fast-dev-run
         --weights resnet50="$fixture/weights/resnet50.tv_in1k-random"
         ast="$fixture/weights/ast-finetuned-audioset-10-10-0.4593-random")
    why="of \`full\` on the fixture in the real data layouts (\`$PROFILE\` is no synthetic profile or its"
    why+=" SoundFonts are missing)"
fi
limit=$(( $(left) - 20 ))
command=("$PY" -m harmonylib.pipeline "${run[@]}" --jobs "$JOBS" --preloaded-kernels --no-report)
echo "fast dev run: ${command[*]} (at most $limit s)"
started=$SECONDS
timeout --signal=INT --kill-after=15 "$limit" "${command[@]}" >> "$fdr_log" 2>&1
status=$?
elapsed=$((SECONDS - started))
case "$status" in
    0) outcome="finished in $elapsed s" ;;
    124|137) outcome="stopped by the budget after $elapsed s" ;;
    *) outcome="FAILED (exit $status) after $elapsed s" ;;
esac
status_lines='^harmony: |^  [^ ]+ +(ok|FAILED|skipped) '
{
    printf '\n## Fast dev run\n\nThe fast dev run %s, `%s`: %s, %s notebook run(s) ok. ' \
        "$why" "${command[*]#"$ROOT"/}" "$outcome" "$(grep -cE '^  [^ ]+ +ok ' "$fdr_log")"
    printf 'What it printed (log: `%s`):\n\n```\n' "$(basename "$fdr_log")"
    grep -E "$status_lines" "$fdr_log"
    printf '```\n'
    case "$status" in
        0|124|137) ;;
        *) printf '\nThe end of its log:\n\n```\n'; tail -n 40 "$fdr_log"; printf '```\n' ;;
    esac
} >> "$report"
echo "fast dev run: $outcome; report: $report"
case "$status" in 0|124|137) exit 0 ;; *) exit 1 ;; esac
