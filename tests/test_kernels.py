"""Kernels forked from a preloading server (harmonylib.kernels) behave as fresh ones do.

That their notebooks' results are the same is checked by test_determinism (fresh kernels against the
smoke run's forked ones); here, the process around them: environment, threads, streams, signals, ends.
"""
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harmonylib import kernels

# torch, so that the thread count the kernel takes from its launcher is checked; json stands for a light module
MODULES = ("json", "torch")


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


def _processes_naming(text: str) -> list[int]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if text.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(int(pid))
        except OSError:  # ended meanwhile
            pass
    return found


async def _start(env: dict[str, str], stdout=None):
    manager = kernels.kernel_manager_class()(kernel_name="python3")
    await manager.start_kernel(env=env, cwd=str(Path.cwd()), stdout=stdout, stderr=stdout)
    client = manager.client()
    client.start_channels()
    await client.wait_for_ready(timeout=120)
    return manager, client


async def _run(client, code: str) -> tuple[str, dict]:
    """Execute ``code``; its printed text and the reply's content."""
    printed = []

    def keep(message):
        if message["msg_type"] == "stream":
            printed.append(message["content"]["text"])

    reply = await client.execute_interactive(code, output_hook=keep, timeout=120)
    return "".join(printed), reply["content"]


@pytest.fixture(scope="module")
def server():
    """A server preloading MODULES with torch's default threads, started before the kernels' settings exist."""
    os.environ.pop("HARMONY_TEST_LAUNCH_VALUE", None)
    with kernels.kernel_server("", MODULES) as path:
        yield path


def test_a_kernel_is_forked_with_the_modules_and_runs_with_its_launchers_environment(server, tmp_path):
    env = dict(os.environ, HARMONY_TEST_LAUNCH_VALUE="set after the server started", OMP_NUM_THREADS="1")

    async def scenario():
        manager, client = await _start(env, stdout=open(tmp_path / "kernel.out", "wb"))
        try:
            printed, reply = await _run(client, (
                "import os, sys\n"
                "preloaded = 'torch' in sys.modules\n"
                "import torch\n"
                "print(preloaded, os.environ['HARMONY_TEST_LAUNCH_VALUE'], torch.get_num_threads(), os.getcwd())\n"
                "os.write(1, b'written to the kernel standard output')\n"))
        finally:
            client.stop_channels()
            await manager.shutdown_kernel()
        return printed, reply

    printed, reply = asyncio.run(scenario())
    assert reply["status"] == "ok", reply
    assert printed.split(maxsplit=1)[0] == "True"  # forked: torch was there before the notebook imported it
    assert "set after the server started 1 " in printed
    assert printed.strip().endswith(str(Path.cwd()))
    assert b"written to the kernel standard output" in (tmp_path / "kernel.out").read_bytes()


def test_an_interrupt_reaches_the_kernel_and_a_killed_launcher_ends_it(server):
    async def scenario():
        manager, client = await _start(dict(os.environ))
        try:
            printed, _ = await _run(client, "import os; print(os.getpid())")
            kernel = int(printed)
            running = asyncio.ensure_future(_run(client, "import time; time.sleep(60)"))
            await asyncio.sleep(2)
            started = time.monotonic()
            await manager.interrupt_kernel()
            _, reply = await asyncio.wait_for(running, 30)
            interrupted_after = time.monotonic() - started
            manager.provisioner.process.send_signal(signal.SIGKILL)  # the launcher, as a timeout's kill would
            return kernel, reply, interrupted_after
        finally:
            client.stop_channels()
            await manager.cleanup_resources()

    kernel, reply, interrupted_after = asyncio.run(scenario())
    assert reply["ename"] == "KeyboardInterrupt" and interrupted_after < 30
    assert _gone(kernel, within=10), "the kernel outlived its launcher"


def test_the_server_ends_with_the_process_that_started_it(tmp_path):
    owner = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time\nfrom harmonylib import kernels\n"
         "with kernels.kernel_server('', ('json',)) as path:\n    print(path, flush=True)\n    time.sleep(120)"],
        stdout=subprocess.PIPE, text=True)
    path = owner.stdout.readline().strip()
    servers = _processes_naming(path)
    assert len(servers) == 1
    owner.kill()
    owner.wait()
    assert _gone(servers[0], within=10), "the server outlived the pipeline that started it"
