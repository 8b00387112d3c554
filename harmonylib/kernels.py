"""Notebook kernels forked from a process that has already imported the heavy libraries.

Used by :mod:`harmonylib.pipeline` under ``--preloaded-kernels`` (``./run_tests.sh``). A test run
executes every notebook twice (the smoke run and the fast dev run), some 60 kernels; each fresh
kernel spends about ten seconds of CPU starting Python and ipykernel and importing torch, timm,
transformers and scikit-learn before its first line of work, most of a smoke notebook's time. Here
one *kernel server* imports them once (:data:`PRELOADED`) and every kernel is a ``fork`` of it:
the imported modules are shared copy-on-write and a kernel is ready in a fraction of a second.

What a forked kernel does is what a fresh one does; the determinism test checks it, by running
notebooks in fresh kernels and comparing their tables byte for byte with the smoke run's. Three
things make that so:

- what reads the kernel's environment when it is imported is not preloaded: matplotlib (its
  backend) and ipykernel (the parent process it watches);
- the kernel takes the environment, working directory and arguments of the launch that asked for
  it, and torch the thread count of its ``OMP_NUM_THREADS``; the server is started with the
  kernels' thread count, which the libraries that read it once when imported (OpenBLAS) keep;
- nothing runs in the server but imports, so no thread pool or random state is inherited in use.

Jupyter keeps managing the kernel through a small *launcher* process (:func:`launch`, the command
the manager of :func:`kernel_manager_class` starts instead of ``python -m ipykernel_launcher``): it
asks the server for a kernel, forwards signals to it and exits when it ends. If the launcher is killed, the
kernel ends itself; if the pipeline that started the server ends, the server ends.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator

SERVER_VARIABLE = "HARMONY_KERNEL_SERVER"  # the server's socket path, for the kernel managers of the workers
PRELOADED = (
    "torch", "torchaudio", "timm", "transformers.models.audio_spectrogram_transformer",
    "sklearn.metrics", "scipy.stats", "statsmodels.stats.multitest", "pandas", "soundfile",
    "librosa.feature", "librosa.effects",  # with the numba functions librosa compiles when imported
)
_STDIO = (0, 1, 2)  # the launcher's standard streams become the kernel's
_FORWARDED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)


def serve(path: str, modules: tuple[str, ...] = PRELOADED) -> None:
    """Listen on the Unix socket ``path``, import ``modules``, then fork a kernel per request until
    the process that started the server ends."""
    import importlib
    import select

    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(16)  # launchers that connect while the imports run wait in the backlog
    for module in modules:
        importlib.import_module(module)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernels are reaped by the system
    parent = os.getppid()
    while os.getppid() == parent:
        if not select.select([listener], [], [], 1.0)[0]:
            continue
        connection, _ = listener.accept()
        _, stdio, _, _ = socket.recv_fds(connection, 1, len(_STDIO))
        request = json.loads(_read_line(connection))
        pid = os.fork()
        if pid == 0:
            listener.close()
            _become_kernel(connection, request, stdio)
        for descriptor in stdio:
            os.close(descriptor)
        connection.sendall(f"{pid}\n".encode())
        connection.close()


def _become_kernel(connection: socket.socket, request: dict, stdio: list[int]) -> None:
    """In the forked child: take the launcher's standard streams and environment, then run ipykernel
    as ``python -m ipykernel_launcher ARGS`` would; never returns to the server's loop."""
    import atexit
    import runpy
    import threading

    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    for target, descriptor in zip(_STDIO, stdio):
        os.dup2(descriptor, target)
        os.close(descriptor)
    os.chdir(request["cwd"])
    sys.path[0] = request["cwd"]  # as `python -m` started there would have it
    os.environ.clear()
    os.environ.update(request["env"])
    if "torch" in sys.modules and os.environ.get("OMP_NUM_THREADS"):  # else torch reads it when imported
        sys.modules["torch"].set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    threading.Thread(target=_end_with_launcher, args=(connection,), daemon=True).start()
    sys.argv = ["ipykernel_launcher", *request["argv"]]
    status = 0
    try:
        runpy.run_module("ipykernel_launcher", run_name="__main__", alter_sys=True)
    except SystemExit as end:
        status = end.code if isinstance(end.code, int) else int(end.code is not None)
    except BaseException:  # noqa: BLE001 - reported as a fresh kernel would, then the child must end here
        import traceback

        traceback.print_exc()
        status = 1
    finally:
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)


def _end_with_launcher(connection: socket.socket) -> None:
    """The launcher never writes after its request: the connection ends only when it does."""
    while connection.recv(1024):
        pass
    os.kill(os.getpid(), signal.SIGKILL)


def launch(path: str, kernel_args: list[str]) -> int:
    """The launcher: ask the server at ``path`` for a kernel with this process's environment, working
    directory and ``kernel_args``, forward signals to it, and return when it ends."""
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    connection.connect(path)
    request = {"argv": kernel_args, "env": dict(os.environ), "cwd": os.getcwd()}
    socket.send_fds(connection, [b"\0"], list(_STDIO))
    connection.sendall(json.dumps(request).encode() + b"\n")
    kernel = int(_read_line(connection))

    def forward(signum, _frame):
        with contextlib.suppress(ProcessLookupError):  # the kernel has just ended
            os.kill(kernel, signum)

    for signum in _FORWARDED_SIGNALS:
        signal.signal(signum, forward)
    while connection.recv(1024):  # EOF: the kernel has ended
        pass
    return 0


def _read_line(connection: socket.socket) -> str:
    data = b""
    while not data.endswith(b"\n"):
        chunk = connection.recv(65536)
        if not chunk:
            raise ConnectionError("the kernel server closed the connection")
        data += chunk
    return data.decode()


@contextlib.contextmanager
def kernel_server(threads: str, modules: tuple[str, ...] = PRELOADED) -> Iterator[str]:
    """Run a kernel server preloading ``modules``, with ``OMP_NUM_THREADS=threads`` unless ``threads``
    is '', while the context lasts; :data:`SERVER_VARIABLE` names its socket for the kernel managers
    started meanwhile."""
    folder = tempfile.mkdtemp(prefix="harmony-kernels-")
    path = os.path.join(folder, "socket")
    env = dict(os.environ, OMP_NUM_THREADS=threads) if threads else dict(os.environ)
    server = subprocess.Popen([sys.executable, "-m", "harmonylib.kernels", "serve", path, *modules], env=env)
    try:
        deadline = time.monotonic() + 60
        while not os.path.exists(path):
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the kernel server did not start (exit status {server.poll()})")
            time.sleep(0.05)
        os.environ[SERVER_VARIABLE] = path
        yield path
    finally:
        os.environ.pop(SERVER_VARIABLE, None)
        server.terminate()
        server.wait()
        shutil.rmtree(folder, ignore_errors=True)


def kernel_manager_class():
    """A jupyter_client kernel manager that starts its kernel through :func:`launch`, from the server
    whose socket :data:`SERVER_VARIABLE` names (imported only where a notebook is executed)."""
    from jupyter_client.manager import AsyncKernelManager

    class PreloadedKernelManager(AsyncKernelManager):
        def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
            return [sys.executable, "-m", "harmonylib.kernels", "launch", os.environ[SERVER_VARIABLE],
                    "-f", self.connection_file, *(extra_arguments or [])]

    return PreloadedKernelManager


if __name__ == "__main__":
    command, server_path, *rest = sys.argv[1:]
    if command == "serve":
        serve(server_path, tuple(rest))
    else:
        sys.exit(launch(server_path, rest))
