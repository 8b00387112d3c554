#!/usr/bin/env bash
# Sets up what the study needs on a fresh machine, and nothing when it is already there:
#   .venv/          Python 3.11 virtual environment with harmonylib and its exact pins (pyproject.toml)
#   SoundFonts      the Debian packages named in pyproject.toml [tool.harmony] debian
# Sourced by run_all.sh and run_tests.sh; a second call returns in about a second (stamp of the pins).
set -euo pipefail
HARMONY_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$HARMONY_ROOT/.venv"
STAMP="$VENV/.harmony-deps-stamp"

python_for_venv() {
    for candidate in python3.11 python3; do
        if command -v "$candidate" >/dev/null 2>&1 &&
           "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
            echo "$candidate"; return 0
        fi
    done
    echo "bootstrap: Python 3.11 is required (found: $(python3 --version 2>&1))" >&2
    return 1
}

toml_list() {  # toml_list PYTHON KEY -> the string(s) of [tool.harmony] KEY, one per line
    "$1" - "$2" "$HARMONY_ROOT/pyproject.toml" <<'PY'
import sys, tomllib
value = tomllib.load(open(sys.argv[2], "rb"))["tool"]["harmony"][sys.argv[1]]
print(value if isinstance(value, str) else "\n".join(value))
PY
}

install_debian_packages() {
    local py="$1" missing=()
    while read -r pkg; do
        [ -n "$pkg" ] && ! dpkg -s "$pkg" >/dev/null 2>&1 && missing+=("$pkg")
    done < <(toml_list "$py" debian)
    [ ${#missing[@]} -eq 0 ] && return 0
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "bootstrap: not a Debian system; install ${missing[*]} (General MIDI SoundFonts) yourself" \
             "or set HARMONY_SOUNDFONT_DIR to a folder holding FluidR3_GM.sf2 and TimGM6mb.sf2" >&2
        return 0
    fi
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo -n"
    echo "bootstrap: installing Debian packages: ${missing[*]}"
    { $sudo apt-get install -y -q "${missing[@]}" >/dev/null 2>&1 ||
      { $sudo apt-get update -q >/dev/null 2>&1 && $sudo apt-get install -y -q "${missing[@]}" >/dev/null; }; } ||
        echo "bootstrap: could not install ${missing[*]}; SynthIRMAS cannot be rendered until they are there" >&2
}

install_with_uv() {  # the project and its pins, by uv; fails where uv cannot be installed or cannot install them
    local py="$1" spec args=()
    "$VENV/bin/pip" install -q --disable-pip-version-check "$(toml_list "$py" installer)" >/dev/null 2>&1 || return 1
    # uv reads no pip configuration: pass on the indexes, wheel folders and constraints pip is configured with,
    # considering every index as pip does
    args=(--python "$VENV/bin/python" --quiet --compile-bytecode --index-strategy unsafe-best-match)
    while IFS='=' read -r key value; do
        value="${value//\'/}"
        case "$key" in
            *.index-url) args+=(--index-url "$value") ;;
            *.extra-index-url) for url in $value; do args+=(--extra-index-url "$url"); done ;;
            *.find-links) for folder in $value; do args+=(--find-links "$folder"); done ;;
            *.constraint) args+=(--constraint "$value") ;;
        esac
    done < <("$VENV/bin/pip" config list 2>/dev/null)
    "$VENV/bin/uv" pip install "${args[@]}" -e "$HARMONY_ROOT" || return 1
    while read -r spec; do
        [ -z "$spec" ] || "$VENV/bin/uv" pip install "${args[@]}" --no-deps "$spec" || return 1
    done < <(toml_list "$py" no-deps)
}

install_with_pip() {
    local py="$1" spec
    echo "bootstrap: uv is not available; installing with pip (slower)"
    # --no-compile, then compileall on every core: pip compiles the bytecode one file at a time
    "$VENV/bin/pip" install -q --no-compile --disable-pip-version-check -e "$HARMONY_ROOT" 2>&1 | grep -v "^WARNING: Location" || true
    while read -r spec; do
        [ -n "$spec" ] && "$VENV/bin/pip" install -q --no-compile --disable-pip-version-check --no-deps "$spec" 2>&1 | grep -v "^WARNING: Location" || true
    done < <(toml_list "$py" no-deps)
    "$VENV/bin/python" -m compileall -q -j 0 "$VENV/lib" >/dev/null 2>&1 || true  # a test file in Python 2 is no error
}

main() {
    local py; py="$(python_for_venv)"
    install_debian_packages "$py"
    local want; want="$(sha256sum "$HARMONY_ROOT/pyproject.toml" | cut -c1-16)"
    if [ -x "$VENV/bin/python" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$want" ]; then
        return 0
    fi
    echo "bootstrap: creating $VENV (first run or changed pins; a few minutes)"
    local t0=$SECONDS
    [ -x "$VENV/bin/python" ] || "$py" -m venv "$VENV"
    install_with_uv "$py" || install_with_pip "$py"
    "$VENV/bin/python" -c "import harmonylib, torch, librosa" # fail loudly if the install did not work
    echo "$want" > "$STAMP"
    echo "bootstrap: environment ready in $((SECONDS - t0)) s"
}

main "$@"
