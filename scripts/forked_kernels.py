"""Jupyter kernels forked from one warm process, so that a run of many notebooks imports torch once.

A fresh kernel spends about 3 to 4 CPU-s before a notebook's own code does anything: Python and
IPython's kernel start, then ``import torch`` (about 2 CPU-s), matplotlib, scipy.stats and
statsmodels. ``make test`` starts about 40 kernels (the book's 18 notebooks executed for the
build, the student edition's 18, the reader notebooks' 4) on two cores that are busy throughout.
With forked kernels, measured alone on the CI's two cores: the book's execution
(``scripts/execute_notebooks.py``) 299 -> 250 CPU-s, the student edition's test 202 -> 154, the
reader notebooks' runs 36 -> 28.

Here a server process imports those libraries once (``PRELOAD``: third-party libraries only; the
book's own ``attn_lessons`` is imported by each notebook, as in a reader's kernel) and forks one
child per kernel. Each kernel is its own process with its own namespace, in a session of its own,
started in the caller's folder with the caller's environment, and ``sys.argv`` and ``sys.path``
are what ``python -m ipykernel_launcher`` gives them (tests/browser/test_student_edition.py
compares a forked kernel with a fresh one). What differs from a fresh kernel:

- the preloaded libraries are in ``sys.modules`` already: a notebook's ``import torch`` binds the
  name without running torch's import-time code again (which a notebook cannot tell, short of
  timing it);
- numpy's global random state, which numpy seeds from the OS once per process, is seeded again
  from the OS in each child (Python's ``random`` does this itself after a fork);
- the hash seed of ``str`` is the server's, fixed at its start, instead of one per kernel.

Jupyter starts a kernel by running its kernel spec's ``argv`` and watches that process. Here that
command runs this file as a stub (``python -I -S forked_kernels.py stub SOCKET -f FILE``: the
standard library only, about 50 ms) that asks the server for a kernel over a Unix socket, hands it
the stub's standard streams, forwards the signals Jupyter sends (an interrupt, a terminate) and
exits with the kernel's exit status. When the stub dies (Jupyter kills it), the server kills its
kernel; when the server dies, the kernels die with it (``PR_SET_PDEATHSIG``).

Linux only (``fork`` of a process that has imported torch, ``SOCK_SEQPACKET``, ``prctl``);
``available()`` says whether it can be used here, and callers run fresh kernels otherwise. The
server refuses to start when importing its preload started a thread (torch 2.13 starts none:
its thread pools start at their first use, in the kernel), since a forked child keeps only the
thread that forked.
This module imports nothing outside the standard library at import time: the stub imports it
without the virtual environment's site-packages.

    with KernelServer(folder, env) as server:   # env: the kernels' environment
        subprocess.run([python, "scripts/run_notebook.py", nb, "--kernel", KERNEL_NAME],
                       env=server.client_env(env), ...)
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

#: The kernel spec's name (in the server's JUPYTER_PATH folder).
KERNEL_NAME = "forked-python3"
#: What the server imports before it forks: what the book's notebooks import (directly or through
#: attn_lessons) that costs more than a few milliseconds, all third-party, and none of which reads
#: an environment variable that Jupyter sets for a kernel (ipykernel and IPython do: the kernel
#: app reads JPY_PARENT_PID when its module is imported, so each kernel imports them itself).
PRELOAD = (
    "numpy", "torch", "torch.nn.functional", "torch.utils.flop_counter", "matplotlib.pyplot",
    "scipy.stats", "statsmodels.stats.power", "statsmodels.stats.multitest",
)
#: Modules the server must not have imported before it forks (``serve`` refuses to start).
NOT_PRELOADED = ("ipykernel", "IPython", "jupyter_client", "zmq", "attn_lessons")
#: Environment variables that may differ between the server and a kernel: what Jupyter sets for
#: each kernel (JPY_PARENT_PID, ...) or reads to find it (JUPYTER_PATH). A kernel whose environment
#: differs in any other variable refuses to start, naming it: a preloaded library may have read it
#: (tqdm reads TQDM_* when torch imports it, OpenMP reads OMP_NUM_THREADS when torch loads it).
PER_KERNEL = ("JPY_", "IPY_", "JUPYTER_")
#: ipykernel sets this before anything imports matplotlib (kernelapp.py, ``init_gui_pylab``);
#: matplotlib reads it when it is imported, which here is in the server.
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"
#: Signals the stub passes on to its kernel (Jupyter interrupts with SIGINT, stops with SIGTERM).
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT,
             signal.SIGUSR1, signal.SIGUSR2)
_PR_SET_PDEATHSIG = 1
_MESSAGE = 1 << 20  # the largest request: arguments, folder and environment as JSON


def available() -> bool:
    """Whether kernels can be forked here (Linux: fork, SOCK_SEQPACKET, prctl)."""
    return sys.platform.startswith("linux") and hasattr(socket, "SOCK_SEQPACKET")


# ------------------------------------------------------------------------------------------------
# The server
# ------------------------------------------------------------------------------------------------


def serve(path: str, preload: tuple[str, ...] = PRELOAD) -> None:
    """Import ``preload``, listen on the Unix socket ``path``, fork a kernel per request."""
    import importlib
    import selectors

    environment = dict(os.environ)  # the kernels' must equal it (PER_KERNEL aside)
    os.environ.setdefault("MPLBACKEND", INLINE_BACKEND)
    for name in preload:
        importlib.import_module(name)
    early = sorted(name for name in NOT_PRELOADED if name in sys.modules)
    if early:
        raise RuntimeError(f"preloading {preload} imported {early}, which each kernel must import "
                           "itself")
    threads = len(os.listdir("/proc/self/task"))
    if threads > 1:  # a child gets only the forking thread: a lock another one held stays held
        raise RuntimeError(f"preloading {preload} started {threads - 1} thread(s): forking "
                           "kernels from this process is not safe")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    listener.bind(path)
    listener.listen(16)
    print("ready", flush=True)  # KernelServer waits for this line
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    kernels: dict[int, socket.socket] = {}  # pid -> the connection of its stub
    server = os.getpid()
    while True:
        for key, _ in selector.select(timeout=0.05):
            if key.fileobj is listener:
                connection, _ = listener.accept()
                message, fds, _, _ = socket.recv_fds(connection, _MESSAGE, 3)
                if not message or len(fds) != 3:  # not a stub: ignore it
                    for fd in fds:
                        os.close(fd)
                    connection.close()
                    continue
                pid = os.fork()
                if pid == 0:
                    selector.close()
                    _kernel(json.loads(message), fds, server, environment,
                            [listener, connection, *kernels.values()])  # does not return
                for fd in fds:
                    os.close(fd)
                kernels[pid] = connection
                selector.register(connection, selectors.EVENT_READ, pid)
                connection.send(json.dumps({"pid": pid}).encode())
            else:  # a stub's end was closed (it died): its kernel goes too
                try:
                    os.kill(key.data, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                selector.unregister(key.fileobj)
        while kernels:  # report the kernels that ended to their stubs
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            connection = kernels.pop(pid)
            try:
                selector.unregister(connection)
            except KeyError:  # already unregistered: its stub had gone
                pass
            try:
                connection.send(json.dumps({"exit": os.waitstatus_to_exitcode(status)}).encode())
            except OSError:
                pass
            connection.close()


def _kernel(request: dict, fds: list[int], server: int, environment: dict[str, str],
            inherited: list[socket.socket]) -> None:
    """In the forked child: become the stub's kernel, then exit with the kernel's status."""
    code = 1
    try:
        for sock in inherited:
            sock.close()
        os.setsid()  # as jupyter_client starts a kernel: a session of its own
        _die_with(server)
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        changed = sorted(name for name in set(environment) | set(request["env"])
                         if environment.get(name) != request["env"].get(name)
                         and not name.startswith(PER_KERNEL))
        if changed:
            print(f"forked_kernels: this kernel's environment differs from the server's in "
                  f"{changed}; start the server with the kernels' environment", file=sys.stderr)
            raise SystemExit(1)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        os.environ.setdefault("MPLBACKEND", INLINE_BACKEND)
        # What ipykernel_launcher does as __main__: Python put the folder of the script it ran
        # first on sys.path (here this file's folder), the launcher takes it away before it
        # imports anything (IPython puts the working folder back, as "").
        del sys.path[0]
        if "numpy" in sys.modules:
            sys.modules["numpy"].random.seed()  # from the OS, as a fresh process would be
        import ipykernel_launcher
        from ipykernel import kernelapp

        sys.argv = [ipykernel_launcher.__file__, *request["args"]]
        kernelapp.launch_new_instance()
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        try:
            import atexit

            atexit._run_exitfuncs()
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _die_with(server: int) -> None:
    """Have the kernel killed when the server ends (and end now if it already has)."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != server:
        raise SystemExit(1)


# ------------------------------------------------------------------------------------------------
# The stub: what Jupyter starts as the kernel
# ------------------------------------------------------------------------------------------------


def stub(path: str, args: list[str]) -> int:
    """Ask the server at ``path`` for a kernel with ``args``; wait for it; its exit status."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    sock.connect(path)
    request = {"args": args, "cwd": os.getcwd(), "env": dict(os.environ)}
    socket.send_fds(sock, [json.dumps(request).encode()], [0, 1, 2])
    reply = sock.recv(_MESSAGE)
    if not reply:
        print(f"forked_kernels: the server at {path} started no kernel", file=sys.stderr)
        return 1
    pid = json.loads(reply)["pid"]

    def forward(signum, _frame):
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass

    for signum in FORWARDED:
        signal.signal(signum, forward)
    reply = sock.recv(_MESSAGE)  # when the kernel has ended
    if not reply:
        print("forked_kernels: the server went away", file=sys.stderr)
        return 1
    code = json.loads(reply)["exit"]
    return code if code >= 0 else 128 - code


# ------------------------------------------------------------------------------------------------
# The caller's side
# ------------------------------------------------------------------------------------------------


class KernelServer:
    """A running server and the kernel spec that reaches it, for the ``with`` block.

    ``folder`` is where the server runs (a folder outside the repository, so that nothing is
    imported from it); ``env`` its environment, which should be the kernels' (environment
    variables read at import time were read by the server); ``preload`` what it imports.
    """

    def __init__(self, folder: Path, env: dict[str, str], preload: tuple[str, ...] = PRELOAD,
                 start_timeout: float = 300.0):
        if not available():
            raise RuntimeError(f"kernels cannot be forked on {sys.platform}")
        self.folder, self.env, self.preload = Path(folder), dict(env), tuple(preload)
        self.start_timeout = start_timeout
        self.process: subprocess.Popen | None = None
        self.home: Path | None = None

    def __enter__(self) -> KernelServer:
        # A short folder of our own: a Unix socket's path has at most 107 bytes.
        self.home = Path(tempfile.mkdtemp(prefix="fk-"))
        self.socket = self.home / "s"
        spec = self.home / "jupyter" / "kernels" / KERNEL_NAME
        spec.mkdir(parents=True)
        (spec / "kernel.json").write_text(json.dumps({
            "argv": self.stub_argv(),
            "display_name": "Python 3 (forked)", "language": "python",
            "interrupt_mode": "signal"}), encoding="utf-8")
        self.log = self.home / "server.log"
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, str(Path(__file__).resolve()), "serve", str(self.socket),
                 "--preload", ",".join(self.preload)],
                cwd=self.folder, env=self.env, stdout=subprocess.PIPE, stderr=log,
                start_new_session=True)
        # "ready" once it listens; nothing if it failed (or is still importing at the deadline).
        ready, _, _ = select.select([self.process.stdout], [], [], self.start_timeout)
        line = self.process.stdout.readline() if ready else b""
        if line.strip() != b"ready":
            self.process.kill()
            self.process.wait()
            log = self.log.read_text(errors="replace")[-3000:]
            self.__exit__(None, None, None)
            raise RuntimeError(f"the kernel server did not start:\n{log}")
        return self

    def kernels(self) -> list[int]:
        """The process ids of the server's children now: its kernels (Linux's /proc)."""
        pid = self.process.pid
        return [int(child) for child in
                Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]

    def stub_argv(self) -> list[str]:
        """The kernel spec's command, ``{connection_file}`` left for Jupyter to fill in."""
        return [sys.executable, "-I", "-S", str(Path(__file__).resolve()), "stub",
                str(self.socket), "-f", "{connection_file}"]

    def client_env(self, env: dict[str, str]) -> dict[str, str]:
        """``env`` with JUPYTER_PATH set so that ``KERNEL_NAME`` names this server's kernels."""
        return {**env, "JUPYTER_PATH": str(self.home / "jupyter")}

    def __exit__(self, *exc) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process.stdout.close()
            self.process = None
        if self.home is not None and (self.home / "jupyter").is_dir():
            shutil.rmtree(self.home)  # made by __enter__ above, under this prefix
            self.home = None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) >= 2 and argv[0] == "stub":
        return stub(argv[1], argv[2:])
    if len(argv) >= 2 and argv[0] == "serve":
        preload = PRELOAD
        if argv[2:3] == ["--preload"] and len(argv) == 4:
            preload = tuple(name for name in argv[3].split(",") if name)
        serve(argv[1], preload)
        return 0
    print("usage: forked_kernels.py serve SOCKET [--preload a,b] | stub SOCKET KERNEL-ARGS...",
          file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
