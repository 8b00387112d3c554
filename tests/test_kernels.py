"""Kernels forked from a preloading server (harmonylib.kernels) behave as fresh ones do.

That their notebooks' results are the same is checked by test_determinism (fresh kernels against the
smoke run's forked ones); here, the process around them: what is preloaded, environment, threads,
streams, signals, and how each of them ends.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import processes_naming

from harmonylib import kernels

# torch and numpy, whose thread count and random state a kernel must not inherit; json stands for a light module
MODULES = ("json", "numpy.random", "torch")


def _gone(pid: int, within: float) -> bool:
    """Whether process ``pid`` ends (or is a zombie, ended but not yet reaped) within ``within`` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z"):
                return True
        except (FileNotFoundError, ProcessLookupError):
            return True
        time.sleep(0.1)
    return False


async def _start(server: str, env: dict[str, str], cwd: Path, stdout=None):
    manager = kernels.kernel_manager_class(server)(kernel_name="python3")
    await manager.start_kernel(env=env, cwd=str(cwd), stdout=stdout, stderr=stdout)
    client = manager.client()
    client.start_channels()
    await client.wait_for_ready(timeout=120)
    return manager, client


@contextlib.asynccontextmanager
async def _kernel(server: str, env: dict[str, str], cwd: Path, stdout=None):
    """A client of a kernel forked by ``server``, shut down when the block ends."""
    manager, client = await _start(server, env, cwd, stdout)
    try:
        yield client
    finally:
        client.stop_channels()
        await manager.shutdown_kernel()


async def _run(client, code: str, printed: list[str] | None = None) -> dict:
    """Execute ``code``, appending what it prints to ``printed``; the reply's content."""
    def keep(message):
        if message["msg_type"] == "stream" and printed is not None:
            printed.append(message["content"]["text"])

    return (await client.execute_interactive(code, output_hook=keep, timeout=120))["content"]


@pytest.fixture(scope="module")
def server():
    """A server preloading MODULES with torch's default threads."""
    with kernels.kernel_server("", MODULES) as path:
        yield path


def test_the_preload_holds_what_the_notebooks_use_and_nothing_that_reads_the_kernels_environment():
    loaded = json.loads(subprocess.run(
        [sys.executable, "-c", "import importlib, json, sys\nfrom harmonylib.kernels import PRELOADED\n"
         "for name in PRELOADED: importlib.import_module(name)\nprint(json.dumps(sorted(sys.modules)))"],
        capture_output=True, text=True, check=True).stdout)
    for used in ("torch", "timm.models.resnet", "sklearn.metrics", "scipy.stats", "librosa.feature.spectral",
                 "librosa.util.utils", "numba",
                 "transformers.models.audio_spectrogram_transformer.modeling_audio_spectrogram_transformer"):
        assert used in loaded, used
    for reads_the_environment in ("matplotlib", "ipykernel", "IPython"):
        assert not [name for name in loaded if name.split(".")[0] == reads_the_environment], reads_the_environment


def test_a_kernel_is_forked_with_the_modules_and_runs_with_its_launchers_environment(server, tmp_path):
    env = dict(os.environ, HARMONY_TEST_LAUNCH_VALUE="set for this kernel only", OMP_NUM_THREADS="1")
    printed = []

    async def scenario():
        with open(tmp_path / "kernel.out", "wb") as out:
            async with _kernel(server, env, tmp_path, stdout=out) as client:
                return await _run(client, (
                    "import os, sys\n"
                    "preloaded = 'torch' in sys.modules\n"
                    "import torch\n"
                    "print(preloaded, os.environ['HARMONY_TEST_LAUNCH_VALUE'], torch.get_num_threads(), os.getcwd(),"
                    " os.getsid(0) == os.getpid())\n"
                    "os.write(1, b'written to the kernel standard output')\n"), printed)

    reply = asyncio.run(scenario())
    assert reply["status"] == "ok", reply
    assert "".join(printed).split() == ["True", "set", "for", "this", "kernel", "only", "1", str(tmp_path), "True"]
    assert b"written to the kernel standard output" in (tmp_path / "kernel.out").read_bytes()


def test_each_kernel_draws_its_own_unseeded_numbers_as_fresh_ones_do(server, tmp_path):
    async def draw():
        async with _kernel(server, dict(os.environ), tmp_path) as client:
            printed = []
            await _run(client, "import numpy; print(numpy.random.randint(2**62))", printed)
            return printed[0]

    assert asyncio.run(draw()) != asyncio.run(draw())


def test_an_interrupt_reaches_the_kernel_and_a_killed_launcher_ends_it(server, tmp_path):
    async def scenario():
        manager, client = await _start(server, dict(os.environ), tmp_path)
        try:
            printed = []
            await _run(client, "import os; print(os.getpid())", printed)
            kernel = int(printed[0])
            printed.clear()
            running = asyncio.ensure_future(_run(client, "import time; print('sleeping', flush=True); time.sleep(60)",
                                                 printed))
            while not printed:
                await asyncio.sleep(0.1)
            await manager.interrupt_kernel()
            reply = await asyncio.wait_for(running, 30)
            manager.provisioner.process.send_signal(signal.SIGKILL)  # the launcher, as a timeout's kill would
            return kernel, reply
        finally:
            client.stop_channels()
            await manager.cleanup_resources()

    kernel, reply = asyncio.run(scenario())
    assert reply["ename"] == "KeyboardInterrupt"
    assert _gone(kernel, within=10), "the kernel outlived its launcher"


def test_a_failed_request_leaves_the_server_serving_and_an_orphaned_launcher_ends_its_kernel(server, tmp_path):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as rude:  # gone before sending anything
        rude.connect(server)
    from jupyter_client.blocking import BlockingKernelClient
    from jupyter_client.connect import write_connection_file

    connection_file, _ = write_connection_file(str(tmp_path / "kernel.json"))
    runner = subprocess.Popen(  # stands for the notebook's runner, the launcher's parent
        [sys.executable, "-c", "import subprocess, sys, time\n"
         f"subprocess.Popen([sys.executable, '-m', 'harmonylib.kernels', 'launch', {server!r}, '-f', "
         f"{connection_file!r}], start_new_session=True)\ntime.sleep(300)"])
    client = BlockingKernelClient(connection_file=connection_file)
    client.load_connection_file()
    client.start_channels()
    try:  # no wait_for_ready: with no manager it takes a late heartbeat on a busy machine for death
        # the pid comes back on the shell channel, which queues the request until the kernel is up; printed
        # output goes over iopub, whose subscription can join after a fast kernel has already answered
        request = client.execute("import os", user_expressions={"pid": "os.getpid()"})
        reply = client.get_shell_msg(timeout=60)
        while reply["parent_header"].get("msg_id") != request:
            reply = client.get_shell_msg(timeout=60)
        kernel = int(reply["content"]["user_expressions"]["pid"]["data"]["text/plain"])
    finally:
        client.stop_channels()
        runner.kill()
        runner.wait()
    assert _gone(kernel, within=10), "the kernel outlived the runner of its launcher"


def test_the_server_ends_with_the_process_that_started_it():
    owner = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time\nfrom harmonylib import kernels\n"
         "with kernels.kernel_server('', ('json',)) as path:\n    print(path, flush=True)\n    time.sleep(120)"],
        stdout=subprocess.PIPE, text=True)
    path = owner.stdout.readline().strip()
    servers = processes_naming(path)
    assert len(servers) == 1
    owner.kill()
    owner.wait()
    assert _gone(servers[0], within=10), "the server outlived the pipeline that started it"


def test_a_server_that_cannot_start_is_reported(capfd):
    with pytest.raises(RuntimeError, match="kernel server did not start"):
        with kernels.kernel_server("", ("no_such_module_anywhere",)):
            pass
    assert "no_such_module_anywhere" in capfd.readouterr().err
