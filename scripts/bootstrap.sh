#!/usr/bin/env bash
# Sets up what the study needs on a fresh machine, and nothing when it is already there:
#   .venv/          Python 3.11 virtual environment with harmonylib and its exact pins (pyproject.toml)
#   SoundFonts      the Debian packages named in pyproject.toml [tool.harmony] debian
#   JupyterLab      scripts/jupyterlab/overrides.json as the settings of .venv's JupyterLab: a double-click opens
#                   a notebook's .py file as a notebook (jupytext's default-viewer setting)
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
             "or set HARMONY_SOUNDFONT_DIR to a folder holding FluidR3_GM.sf2, sf_GMbank.sf2, TimGM6mb.sf2, MuseScore_General_Full.sf3 and OPL-3_FM_128M.sf2" >&2
        return 0
    fi
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo -n"
    echo "bootstrap: installing Debian packages: ${missing[*]}"
    { $sudo apt-get install -y -q "${missing[@]}" >/dev/null 2>&1 ||
      { $sudo apt-get update -q >/dev/null 2>&1 && $sudo apt-get install -y -q "${missing[@]}" >/dev/null; }; } ||
        echo "bootstrap: could not install ${missing[*]}; SynthIRMAS cannot be rendered until they are there" >&2
}

uv_index_args() {  # uv_index_args PYTHON PIP -> uv's options, one per line, for pip's configured indexes
    # uv reads no pip configuration: the indexes, wheel folders, constraints and trusted hosts pip is configured
    # with are passed on, with pip's precedence (environment over [install] over [global], later files over earlier)
    "$1" - "$2" <<'PY'
import ast, subprocess, sys
rank = {":env:": 2, "install": 1, "global": 0}
options = {"index-url": "--index-url", "extra-index-url": "--extra-index-url", "find-links": "--find-links",
           "constraint": "--constraint", "trusted-host": "--allow-insecure-host"}
settings = {}
for line in subprocess.run([sys.argv[1], "config", "list"], capture_output=True, text=True).stdout.splitlines():
    key, _, value = line.partition("=")
    section, _, name = key.partition(".")
    if section in rank and rank[section] >= settings.get(name, (-1, ""))[0]:
        settings[name] = (rank[section], ast.literal_eval(value))
for name, (_, value) in settings.items():
    if name in options:
        for item in value.split():
            print(options[name], item, sep="\n")
    elif name == "no-index" and value.lower() in ("1", "true", "yes", "on"):
        print("--no-index")
PY
}

install_with_uv() {  # the project and its pins, by uv; fails where uv cannot be installed or cannot install them
    local py="$1" spec args=()
    if ! "$VENV/bin/pip" install -q --disable-pip-version-check "$(toml_list "$py" installer)" >/dev/null 2>&1; then
        echo "bootstrap: uv could not be installed"; return 1
    fi
    args=(--python "$VENV/bin/python" --quiet --compile-bytecode --index-strategy unsafe-best-match)  # pip's choice among indexes
    mapfile -t -O ${#args[@]} args < <(uv_index_args "$VENV/bin/python" "$VENV/bin/pip")
    "$VENV/bin/uv" pip install "${args[@]}" -e "$HARMONY_ROOT" || { echo "bootstrap: uv failed"; return 1; }
    while read -r spec; do
        [ -z "$spec" ] || "$VENV/bin/uv" pip install "${args[@]}" --no-deps "$spec" || { echo "bootstrap: uv failed"; return 1; }
    done < <(toml_list "$py" no-deps)
}

install_with_pip() {
    local py="$1" spec
    echo "bootstrap: installing with pip instead (slower)"
    # --no-compile, then compileall on every core: pip compiles the bytecode one file at a time
    "$VENV/bin/pip" install -q --no-compile --disable-pip-version-check -e "$HARMONY_ROOT" 2>&1 | grep -v "^WARNING: Location" || true
    while read -r spec; do
        [ -n "$spec" ] && "$VENV/bin/pip" install -q --no-compile --disable-pip-version-check --no-deps "$spec" 2>&1 | grep -v "^WARNING: Location" || true
    done < <(toml_list "$py" no-deps)
    "$VENV/bin/python" -m compileall -q -j 0 "$VENV/lib" >/dev/null 2>&1 || true  # a test file in Python 2 is no error
}

install_jupyterlab_settings() {  # JupyterLab reads overrides.json from its application settings folder
    local settings="$VENV/share/jupyter/lab/settings"
    cmp -s "$HARMONY_ROOT/scripts/jupyterlab/overrides.json" "$settings/overrides.json" && return 0
    mkdir -p "$settings" && cp "$HARMONY_ROOT/scripts/jupyterlab/overrides.json" "$settings/overrides.json"
}

main() {
    local py; py="$(python_for_venv)"
    install_debian_packages "$py"
    local want; want="$(sha256sum "$HARMONY_ROOT/pyproject.toml" | cut -c1-16)"
    if [ -x "$VENV/bin/python" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$want" ]; then
        install_jupyterlab_settings
        return 0
    fi
    echo "bootstrap: creating $VENV (first run or changed pins; a few minutes)"
    local t0=$SECONDS
    [ -x "$VENV/bin/python" ] || "$py" -m venv "$VENV"
    install_with_uv "$py" || install_with_pip "$py"
    "$VENV/bin/python" -c "import harmonylib, torch, librosa" # fail loudly if the install did not work
    install_jupyterlab_settings
    echo "$want" > "$STAMP"
    echo "bootstrap: environment ready in $((SECONDS - t0)) s"
}

main "$@"
