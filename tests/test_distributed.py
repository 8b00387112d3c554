"""Two gloo processes under torchrun train the same weights as one process with the same global batch."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file

from harmonylib.train import fit

REPO = Path(__file__).resolve().parent.parent

WORKER = """
import sys
sys.path.insert(0, {tests!r})
from test_train import ToyData, toy_model, settings, identity
from harmonylib.distributed import init_distributed
from harmonylib.train import fit
rank, world, device = init_distributed("cpu")
assert world == 2, world
fit(toy_model(dropout=0.0), ToyData(64), ToyData(8, 2), settings(batch_size=8), {run!r}, identity, device=device,
    log=lambda message: None)
"""


def test_two_processes_agree_with_one(tmp_path):
    sys.path.insert(0, str(REPO / "tests"))
    from test_train import ToyData, identity, settings, toy_model

    script = tmp_path / "worker.py"
    script.write_text(WORKER.format(tests=str(REPO / "tests"), run=str(tmp_path / "ddp")))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                           str(script)], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]

    single = toy_model(dropout=0.0)
    fit(single, ToyData(64), ToyData(8, 2), settings(batch_size=8), tmp_path / "one", identity,
        log=lambda message: None)
    ddp_best = load_file(str(tmp_path / "ddp" / "best" / "model.safetensors"))
    one_best = load_file(str(tmp_path / "one" / "best" / "model.safetensors"))
    assert ddp_best.keys() == one_best.keys()
    for key, value in one_best.items():
        torch.testing.assert_close(ddp_best[key], value, rtol=1e-5, atol=1e-6)
    best_epoch = [json.loads((tmp_path / run / "run.json").read_text())["best_epoch"] for run in ("ddp", "one")]
    assert best_epoch[0] == best_epoch[1]
    config = (tmp_path / "ddp" / "config.json").read_text()
    assert '"world_size": 2' in config
