"""Notebook kernels forked from a process that has already imported the heavy libraries.

Used by :mod:`harmonylib.pipeline` (``./run_all.sh``, ``./run_tests.sh``) by default on Linux. A test run
executes every notebook twice (the smoke run and the fast dev run), some 60 kernels, and the study 31; each fresh
kernel spends about ten seconds of CPU starting Python and importing torch, timm, transformers,
scikit-learn and librosa (whose numba functions load when imported) before its first line of work,
most of a smoke notebook's time. Here one *kernel server* imports them once (:data:`PRELOADED`)
and every kernel is a ``fork`` of it: the imported modules are shared copy-on-write and a kernel is
ready in a fraction of a second. Linux only: elsewhere (macOS) forking a process that has loaded
system frameworks is unsafe, and the pipeline refuses the option.

A forked kernel computes what a fresh one computes; the determinism test checks it, running
notebooks in fresh kernels and comparing their tables byte for byte with the smoke run's. To that
end each kernel takes the environment, working directory, standard streams and arguments of the
launch that asked for it, its own session, torch's thread count from its ``OMP_NUM_THREADS``
(the server runs with the kernels' count, which OpenBLAS reads once when loaded) and a fresh seed
for numpy's global generator; and what reads the kernel's environment when imported, matplotlib
(its backend) and ipykernel, is not preloaded. What remains shared: Python's hash seed, and the
settings other preloaded libraries read when imported (``HF_*`` for huggingface_hub, tqdm's choice
of console bars), which come from the environment the pipeline starts the server with, the same as
the kernels'.

Jupyter manages the kernel through a small *launcher* process (:func:`launch`, the command the
manager of :func:`kernel_manager_class` starts instead of ``python -m ipykernel_launcher``): it
asks the server for a kernel, forwards signals to it and exits with its exit status. A kernel
whose launcher is killed ends itself; a launcher whose parent (the notebook's runner) dies ends its
kernel, as ipykernel ends a fresh one; the server ends with the pipeline that started it.
"""
from __future__ import annotations

import contextlib
import importlib
import json
import os
import runpy
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import traceback
from collections.abc import Iterator

PRELOADED = (
    "torch", "torchaudio", "timm",
    "transformers.models.audio_spectrogram_transformer.modeling_audio_spectrogram_transformer",
    "sklearn.metrics", "scipy.stats", "statsmodels.stats.multitest", "pandas", "soundfile",
    "librosa.feature.spectral", "librosa.effects",
)
READY = "ready"  # the server's one line on its standard output once it accepts requests
_STDIO = (0, 1, 2)  # the launcher's standard streams become the kernel's
_FORWARDED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)
_PARENT_POLL_S = 1.0


def serve(path: str, modules: tuple[str, ...]) -> None:
    """Import ``modules``, listen on the Unix socket ``path``, say :data:`READY`, then fork a kernel
    per request until the process that started the server ends."""
    parent = os.getppid()
    start_dir = os.getcwd()
    for module in modules:
        importlib.import_module(module)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(16)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernels are reaped by the system
    print(READY, flush=True)
    while os.getppid() == parent:
        if select.select([listener], [], [], _PARENT_POLL_S)[0]:
            connection, _ = listener.accept()
            with connection:
                _fork_kernel(listener, connection, start_dir)


def _fork_kernel(listener: socket.socket, connection: socket.socket, start_dir: str) -> None:
    """Answer one launcher: fork its kernel and send it the kernel's pid. A failed request (a launcher
    gone meanwhile, say) is reported and leaves the server serving."""
    stdio: list[int] = []
    try:
        _, stdio, _, _ = socket.recv_fds(connection, 1, len(_STDIO))
        request = json.loads(_read_line(connection))
        if len(stdio) != len(_STDIO):
            raise ValueError(f"the launcher sent {len(stdio)} standard streams, not {len(_STDIO)}")
        pid = os.fork()
        if pid == 0:
            try:
                listener.close()
                _become_kernel(connection, request, stdio, start_dir)
            except BaseException:  # noqa: BLE001 - the kernel could not even start
                traceback.print_exc()
            finally:
                os._exit(1)  # never return to the server's loop
        connection.sendall(f"{pid}\n".encode())
    except (OSError, ValueError) as error:
        print(f"harmony kernel server: a kernel request failed: {error!r}", file=sys.stderr, flush=True)
    finally:
        for descriptor in stdio:
            with contextlib.suppress(OSError):
                os.close(descriptor)


def _become_kernel(connection: socket.socket, request: dict, stdio: list[int], start_dir: str) -> None:
    """In the forked child: take the launch's streams, session, environment and working directory,
    then run ipykernel as ``python -m ipykernel_launcher ARGS`` would; ends the process with the
    kernel's exit status, which the launcher is sent."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    os.setsid()
    for target, descriptor in zip(_STDIO, stdio):
        os.dup2(descriptor, target)
        os.close(descriptor)
    os.chdir(request["cwd"])
    if sys.path and sys.path[0] == start_dir:  # as `python -m` started there would have it
        sys.path[0] = request["cwd"]
    os.environ.clear()
    os.environ.update(request["env"])
    if "torch" in sys.modules and os.environ.get("OMP_NUM_THREADS"):  # else torch reads it when imported
        sys.modules["torch"].set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed()  # from the system's entropy, as in a fresh process
    threading.Thread(target=_end_with_launcher, args=(connection,), daemon=True).start()
    sys.argv = ["ipykernel_launcher", *request["argv"]]
    status = 1
    try:
        runpy.run_module("ipykernel_launcher", run_name="__main__", alter_sys=True)
        status = 0
    except SystemExit as end:
        status = end.code if isinstance(end.code, int) else int(end.code is not None)
    except BaseException:  # noqa: BLE001 - printed as a fresh kernel would print it
        traceback.print_exc()
    finally:
        import atexit

        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
        with contextlib.suppress(OSError):
            connection.sendall(f"{status}\n".encode())
        os._exit(status)


def _end_with_launcher(connection: socket.socket) -> None:
    """The launcher writes nothing after its request: the connection ends only when the launcher does."""
    while connection.recv(1024):
        pass
    os.kill(os.getpid(), signal.SIGKILL)


def launch(path: str, kernel_args: list[str]) -> int:
    """The launcher: ask the server at ``path`` for a kernel with this process's standard streams,
    environment, working directory and ``kernel_args``; forward signals to it; end it if this
    process's parent ends; return its exit status (1 if it was killed)."""
    parent = os.getppid()
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    connection.connect(path)
    socket.send_fds(connection, [b"\0"], list(_STDIO))
    request = {"argv": kernel_args, "env": dict(os.environ), "cwd": os.getcwd()}
    connection.sendall(json.dumps(request).encode() + b"\n")
    kernel = int(_read_line(connection))

    def forward(signum, _frame):
        with contextlib.suppress(ProcessLookupError):  # the kernel has just ended
            os.killpg(kernel, signum)  # the kernel leads its own session, as a fresh one does

    for signum in _FORWARDED_SIGNALS:
        signal.signal(signum, forward)
    received = b""
    while True:
        if os.getppid() != parent:
            forward(signal.SIGKILL, None)
            return 1
        if select.select([connection], [], [], _PARENT_POLL_S)[0]:
            chunk = connection.recv(1024)
            if not chunk:  # the kernel has ended; its last words are its exit status
                return int(received) if received.strip().isdigit() else 1
            received += chunk


def _read_line(connection: socket.socket) -> str:
    """One newline-terminated line from ``connection`` (the peer sends nothing after it)."""
    data = b""
    while not data.endswith(b"\n"):
        chunk = connection.recv(65536)
        if not chunk:
            raise ConnectionError("the kernel server closed the connection")
        data += chunk
    return data.decode()


@contextlib.contextmanager
def kernel_server(threads: str, modules: tuple[str, ...] | None = None) -> Iterator[str]:
    """Run a kernel server preloading ``modules`` (default :data:`PRELOADED`), with
    ``OMP_NUM_THREADS=threads`` unless ``threads`` is '', while the context lasts; yields its socket path."""
    folder = tempfile.mkdtemp(prefix="harmony-kernels-")
    path = os.path.join(folder, "socket")
    env = dict(os.environ, OMP_NUM_THREADS=threads) if threads else dict(os.environ)
    command = [sys.executable, "-m", "harmonylib.kernels", "serve", path, *(PRELOADED if modules is None else modules)]
    server = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        if server.stdout.readline().strip() != READY:  # its error, if any, is on our standard error
            raise RuntimeError(f"harmony: the kernel server did not start (exit status {server.wait()}); "
                               "run with --no-preloaded-kernels to use fresh kernels")
        yield path
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(folder, ignore_errors=True)


def kernel_manager_class(server_path: str):
    """A jupyter_client kernel manager class that starts its kernels through :func:`launch`, from the
    server at ``server_path`` (jupyter_client is imported only where a notebook is executed)."""
    from jupyter_client.manager import AsyncKernelManager

    class PreloadedKernelManager(AsyncKernelManager):
        def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
            return [sys.executable, "-m", "harmonylib.kernels", "launch", server_path,
                    "-f", self.connection_file, *(extra_arguments or [])]

    return PreloadedKernelManager


def main(argv: list[str]) -> int:
    command, server_path, *rest = argv
    if command == "serve":
        serve(server_path, tuple(rest))
        return 0
    if command == "launch":
        return launch(server_path, rest)
    raise SystemExit("usage: python -m harmonylib.kernels serve PATH MODULE... | launch PATH KERNEL_ARGS...")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
