"""./run_all.sh killed with SIGKILL and started again completes, redoing only unfinished work."""
import os
import signal
import subprocess
import sys
import time

import pytest

from harmonylib.paths import REPO_ROOT


def _pipeline(env, *args):
    return subprocess.Popen([sys.executable, "-m", "harmonylib.pipeline", "--profile", "smoke", "--no-report", *args],
                            cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)


@pytest.mark.slow
def test_kill_9_then_rerun_completes_and_skips_finished_notebooks(tmp_path):
    env = {**os.environ, "HARMONY_BUILD_DIR": str(tmp_path / "build"),
           "HARMONY_FIGURES_DIR": str(tmp_path / "figures"), "HARMONY_DATA_DIR": str(tmp_path / "data")}
    first = _pipeline(env, "--only", "00", "10")
    stamp = tmp_path / "build" / "stamps" / "smoke" / "00_overview.json"
    log = tmp_path / "build" / "logs" / "smoke" / "10_data_sets.log"
    deadline = time.monotonic() + 120
    while not (stamp.exists() and log.exists()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert stamp.exists(), first.communicate()[0] if first.poll() is not None else "00 never finished"
    time.sleep(1.0)  # well inside 10_data_sets: rendering SynthIRMAS
    os.killpg(first.pid, signal.SIGKILL)  # the runner, its kernel and any renderer processes
    first.wait()

    second = _pipeline(env, "--only", "00", "10")
    output, _ = second.communicate(timeout=300)
    assert second.returncode == 0, output
    assert "00_overview" in output and "skipped  (unchanged)" in output
    assert "10_data_sets" in output and " ok " in output
    executed = tmp_path / "build" / "notebooks" / "smoke"
    assert (executed / "10_data_sets.ipynb").exists()
    assert not list(executed.glob("*.partial.ipynb"))
