"""Running one untrusted Python program on one input: a subprocess with limits (the code-tests task).

What a run gets and what it does not (docs/tasks/code-tests.md says the same for operators):

* ``sys.executable -I -S -B -c BOOTSTRAP``: isolated mode (no PYTHON* variables, no user site, neither
  the current nor the script directory on ``sys.path``), no ``site`` (so no site-packages: the
  standard library only), no ``.pyc`` written. ``env={}``: nothing of the grader's environment (its
  AWS credentials among it) reaches the program; Python adds only ``LC_CTYPE=C.UTF-8`` itself (PEP 538).
  Only where the interpreter cannot start without it (a shared libpython found through the loader's
  path) does the child get one variable, ``LD_LIBRARY_PATH`` (``child_environment`` finds out once).
* The program's source arrives on stdin ahead of the test's input (a 12-digit length, then the
  source), so it never appears in a command line another process could read, and has no size limit
  but the memory's. The bootstrap reads it with ``os.read`` (nothing buffered), sets the limits,
  makes itself non-dumpable, compiles the source and runs it as ``__main__``; the program then reads
  exactly the test's input from ``sys.stdin``.
* Limits, set in the child before any of the program runs (they are inherited and cannot be raised
  again): ``RLIMIT_AS`` (address space), ``RLIMIT_CPU`` (a backstop past the wall clock),
  ``RLIMIT_FSIZE`` (largest file it may write), ``RLIMIT_NOFILE``, ``RLIMIT_CORE`` 0 and
  ``RLIMIT_NPROC`` 0: no ``fork``, no thread, no ``subprocess`` (the limit counts every process of the
  user, so 0 is the only value that means the same whatever else runs; it binds the child only, never
  the grader). Limits are set by the bootstrap rather than in ``preexec_fn``, which the subprocess
  documentation warns is unsafe in a process with threads (the task runs programs from a thread pool).
* A new session (``start_new_session``), so the whole process group is killed with ``SIGKILL`` when
  the run ends, however it ends; a fresh temporary directory as the working directory, removed
  afterwards; stdout read with a cap (a program printing gigabytes is killed at the cap, the grader
  never holds more); stderr discarded.
* ``harden_parent``: the grader makes itself non-dumpable (``PR_SET_DUMPABLE`` 0) before its first
  run, so a program running as the same user cannot read ``/proc/<grader>/environ`` (where Lambda's
  credentials are), its memory or its file descriptors; each program does the same for itself, so
  programs of one batch cannot reach each other's pipes either.

Not covered (Lambda offers no namespaces, and no seccomp filter is installed here): the network is
reachable; files written outside the working directory (``/tmp`` is writable) stay; a program can
signal other processes of the same user, the grader included (that fails the invocation, it never
raises a reward).
"""

from __future__ import annotations

import math
import os
import resource
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final


class Status:
    """How a run ended."""

    EXITED: Final = "exited"  # the program exited by itself; see exit_code
    TIMEOUT: Final = "timeout"  # killed at its wall-clock limit
    OUTPUT_LIMIT: Final = "output_limit"  # killed for printing more than the cap
    DEADLINE: Final = "deadline"  # not run, or cut short, because the invocation's deadline came first
    ERROR: Final = "error"  # the grader could not start it (no memory, no disk, no process)


@dataclass(frozen=True, slots=True)
class Limits:
    """What one run may use. ``wall_seconds`` is the usual limit; a run may get less near the deadline."""

    wall_seconds: float
    memory_bytes: int
    max_output_bytes: int
    file_bytes: int = 16 * 1024 * 1024
    open_files: int = 64


@dataclass(frozen=True, slots=True)
class RunResult:
    status: str
    exit_code: int | None = None  # for EXITED: the exit status, negative for a signal
    stdout: bytes = b""
    seconds: float = 0.0
    detail: str = ""  # for ERROR: what failed

    @property
    def exited_cleanly(self) -> bool:
        return self.status == Status.EXITED and self.exit_code == 0


# The source's length ahead of it on stdin: this many ASCII digits.
HEADER_DIGITS: Final = 12
# Exit status of the bootstrap when its stdin ends before the source does (a grader bug, not the program's).
BOOTSTRAP_FAILED: Final = 86
# Time a run is given after SIGKILL to be reaped before the grader moves on.
REAP_SECONDS: Final = 2.0
PR_SET_DUMPABLE: Final = 4

# Runs in the child before the program: limits, non-dumpable, the source from stdin, then the program as
# __main__ in a namespace holding nothing of the bootstrap. The limits are substituted as literals.
_BOOTSTRAP: Final = """\
import os, resource, sys
def _bootstrap():
    for kind, soft, hard in {limits!r}:
        current = resource.getrlimit(kind)[1]
        if current != resource.RLIM_INFINITY:
            soft, hard = min(soft, current), min(hard, current)
        try:
            resource.setrlimit(kind, (soft, hard))
        except (ValueError, OSError):
            if sys.platform.startswith("linux"):
                raise
    try:
        import _ctypes
        class Int(_ctypes._SimpleCData):
            _type_ = "i"
        class Function(_ctypes.CFuncPtr):
            _flags_ = _ctypes.FUNCFLAG_CDECL
            _restype_ = Int
        class Libc:
            _handle = _ctypes.dlopen(None)
        Function(("prctl", Libc()))({dumpable}, 0, 0, 0, 0)
    except (ImportError, AttributeError, OSError):
        if sys.platform.startswith("linux"):
            raise
    def read(size):
        parts = []
        while size > 0:
            part = os.read(0, min(size, 1 << 20))
            if not part:
                sys.exit({failed})
            parts.append(part)
            size -= len(part)
        return b"".join(parts)
    code = compile(read(int(read({digits}))), "solution.py", "exec", dont_inherit=True)
    import builtins
    builtins.exit = builtins.quit = sys.exit  # what site would have added (-S): exit() is common in solutions
    namespace = sys.modules["__main__"].__dict__
    kept = ("__name__", "__builtins__", "__doc__", "__spec__", "__loader__", "__package__")
    for name in [name for name in namespace if name not in kept]:
        del namespace[name]
    exec(code, namespace)
_bootstrap()
"""


def bootstrap_source(limits: Limits) -> str:
    """The child's bootstrap for these limits (the wall-clock limit is the parent's to enforce)."""
    cpu = max(1, math.ceil(limits.wall_seconds)) + 1
    rlimits = (
        (resource.RLIMIT_AS, limits.memory_bytes, limits.memory_bytes),
        (resource.RLIMIT_CPU, cpu, cpu + 1),
        (resource.RLIMIT_FSIZE, limits.file_bytes, limits.file_bytes),
        (resource.RLIMIT_NOFILE, limits.open_files, limits.open_files),
        (resource.RLIMIT_CORE, 0, 0),
        (resource.RLIMIT_NPROC, 0, 0),
    )
    return _BOOTSTRAP.format(limits=rlimits, dumpable=f"{PR_SET_DUMPABLE}", failed=BOOTSTRAP_FAILED,
                             digits=HEADER_DIGITS)


_hardened = False


def harden_parent() -> bool:
    """Make this process non-dumpable (once): its /proc entries (environ, mem, fd) become unreadable to
    processes of the same user without CAP_SYS_PTRACE. False where prctl does not exist (not Linux)."""
    global _hardened
    if _hardened:
        return True
    if not sys.platform.startswith("linux"):
        return False
    import ctypes  # here, not at import: loading the task stays light

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_DUMPABLE, 0) failed")
    _hardened = True
    return True


# The only variable a child may get: the dynamic loader's path, where the interpreter cannot start without it
# (a Python built with a shared libpython and no RPATH; Lambda's runtimes set LD_LIBRARY_PATH=/var/lang/lib:...).
LOADER_PATH_ENV: Final = "LD_LIBRARY_PATH"
_CANARY_SOURCE: Final = b"print('ok')"
_environments: dict[str, dict[str, str] | None] = {}
_environments_lock = threading.Lock()


def child_environment(limits: Limits, bootstrap: str, wall_seconds: float = 5.0) -> dict[str, str] | None:
    """The environment children start in: ``{}`` when a trivial program runs in it under these limits, else
    only ``LD_LIBRARY_PATH`` (the grader's) when that is what it takes; None when the interpreter does not run
    in the sandbox at all. Found once per process and configuration (one run of about 10 ms), within
    ``wall_seconds``; when that is too short to tell, ``{}`` for now, asked again next time."""
    with _environments_lock:
        if bootstrap in _environments:
            return _environments[bootstrap]
        candidates: list[dict[str, str]] = [{}]
        if os.environ.get(LOADER_PATH_ENV):
            candidates.append({LOADER_PATH_ENV: os.environ[LOADER_PATH_ENV]})
        for env in candidates:
            result = run_python(_CANARY_SOURCE, b"", limits, bootstrap, env=env, wall_seconds=wall_seconds)
            if result.status == Status.TIMEOUT:
                return {}  # no verdict in the time there was
            if result.exited_cleanly and result.stdout == b"ok\n":
                _environments[bootstrap] = env
                return env
        _environments[bootstrap] = None
        return None


def run_python(source: bytes, stdin: bytes, limits: Limits, bootstrap: str, *, env: dict[str, str] | None = None,
               wall_seconds: float | None = None, clock: Callable[[], float] = time.monotonic) -> RunResult:
    """Run ``source`` on ``stdin`` under ``limits`` (``bootstrap`` is ``bootstrap_source(limits)``, built
    once per configuration) in the environment ``env`` (default: empty; see ``child_environment``).
    ``wall_seconds`` overrides the limit's wall clock (the deadline's share)."""
    limit = limits.wall_seconds if wall_seconds is None else wall_seconds
    payload = b"%0*d" % (HEADER_DIGITS, len(source)) + source + stdin
    start = clock()
    try:
        workdir = tempfile.mkdtemp(prefix="code-tests-")
    except OSError as error:
        return RunResult(Status.ERROR, detail=f"temporary directory: {error}")
    try:
        try:
            process = subprocess.Popen(
                [sys.executable, "-I", "-S", "-B", "-c", bootstrap],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                cwd=workdir, env=env or {}, start_new_session=True, close_fds=True,
            )
        except OSError as error:
            return RunResult(Status.ERROR, detail=f"start: {error}")
        try:
            status, stdout = _communicate(process, payload, start + limit, limits.max_output_bytes, clock)
        finally:
            _kill_group(process)
        seconds = clock() - start
        if status is not None:
            return RunResult(status, stdout=stdout, seconds=seconds)
        return RunResult(Status.EXITED, exit_code=process.returncode, stdout=stdout, seconds=seconds)
    finally:
        _remove_tree(workdir)


def _communicate(process: subprocess.Popen[bytes], payload: bytes, end: float, cap: int,
                 clock: Callable[[], float]) -> tuple[str | None, bytes]:
    """Feed stdin, read stdout up to ``cap`` and wait for the exit, until ``end``.

    Returns (None, stdout) once the program has exited (not yet reaped, so its process group still
    exists for the kill), else (TIMEOUT or OUTPUT_LIMIT, what was read).
    """
    assert process.stdin is not None and process.stdout is not None
    stdin_fd, stdout_fd = process.stdin.fileno(), process.stdout.fileno()
    os.set_blocking(stdin_fd, False)
    os.set_blocking(stdout_fd, False)
    output = bytearray()
    view = memoryview(payload)
    written = 0
    exit_fd = _pidfd(process.pid)
    with selectors.DefaultSelector() as selector:
        selector.register(stdin_fd, selectors.EVENT_WRITE)
        selector.register(stdout_fd, selectors.EVENT_READ)
        if exit_fd is not None:
            selector.register(exit_fd, selectors.EVENT_READ)
        exited = False
        try:
            while True:
                remaining = end - clock()
                if remaining <= 0:
                    return Status.TIMEOUT, bytes(output)
                # Without a pidfd (not Linux), poll for the exit at least every 10 ms.
                events = selector.select(remaining if exit_fd is not None else min(remaining, 0.01))
                for key, _ in events:
                    if key.fd == stdin_fd:
                        try:
                            written += os.write(stdin_fd, view[written : written + 65536])
                        except BlockingIOError:
                            continue
                        except (BrokenPipeError, ConnectionResetError):
                            written = len(payload)  # the program stopped reading: the rest is not its
                        if written >= len(payload):
                            selector.unregister(stdin_fd)
                            process.stdin.close()
                    elif key.fd == stdout_fd:
                        if not _read_into(stdout_fd, output, cap, selector):
                            return Status.OUTPUT_LIMIT, b""
                    else:
                        exited = True
                if exit_fd is None:
                    # No pidfd: look without reaping where waitid exists, else reap (the group kill
                    # afterwards then finds no group, which is fine).
                    exited = _exited_unreaped(process.pid) if hasattr(os, "waitid") else process.poll() is not None
                if exited:
                    # Everything it wrote is in the pipe now; take it without waiting for EOF (a
                    # descendant that escaped the group could hold the pipe open).
                    if stdout_fd in selector.get_map() and not _read_into(stdout_fd, output, cap, selector):
                        return Status.OUTPUT_LIMIT, b""
                    return None, bytes(output)
        finally:
            if exit_fd is not None:
                os.close(exit_fd)
            if not process.stdin.closed:
                try:
                    process.stdin.close()
                except OSError:
                    pass


def _read_into(fd: int, output: bytearray, cap: int, selector: selectors.BaseSelector) -> bool:
    """Read what is available from ``fd`` into ``output``; False once it holds more than ``cap``."""
    while True:
        try:
            chunk = os.read(fd, min(1 << 20, cap + 1 - len(output)))
        except BlockingIOError:
            return True
        if not chunk:
            selector.unregister(fd)
            return True
        output += chunk
        if len(output) > cap:
            return False


def _pidfd(pid: int) -> int | None:
    pidfd_open = getattr(os, "pidfd_open", None)
    if pidfd_open is None:
        return None
    try:
        fd: int = pidfd_open(pid)
    except OSError:
        return None
    return fd


def _exited_unreaped(pid: int) -> bool:
    """Whether ``pid`` has exited, leaving it a zombie (its group id stays taken until it is reaped)."""
    waitid = getattr(os, "waitid", None)
    if waitid is None:
        return False
    return waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the run's process group (the program and anything it left), then reap the program."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        process.wait(timeout=REAP_SECONDS)
    except subprocess.TimeoutExpired:
        pass  # stuck in the kernel; the child is reaped by a later wait of subprocess
    if process.stdout is not None:
        process.stdout.close()


def _remove_tree(path: str) -> None:
    """Remove a run's directory even when the program took its own permissions away."""
    try:
        shutil.rmtree(path)
    except OSError:
        for root, directories, _ in os.walk(path):
            for name in directories:
                try:
                    os.chmod(os.path.join(root, name), 0o700)
                except OSError:
                    pass
        try:
            os.chmod(path, 0o700)
        except OSError:
            pass
        shutil.rmtree(path, ignore_errors=True)
