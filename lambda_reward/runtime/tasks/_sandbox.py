"""Running one untrusted Python program on one input: a subprocess with limits (the code-tests task).

What a run gets and what it does not (docs/tasks/code-tests.md says the same for operators):

* ``sys.executable -I -S -B -c BOOTSTRAP``: isolated mode (no PYTHON* variables, no user site, neither
  the current nor the script directory on ``sys.path``), no ``site`` (so no site-packages: the
  standard library only), no ``.pyc`` written. ``env={}``: nothing of the grader's environment (its
  AWS credentials among it) reaches the program; Python adds only ``LC_CTYPE=C.UTF-8`` itself (PEP 538).
  Only where the interpreter cannot start without it (a shared libpython found through the loader's
  path) does the child get one variable, ``LD_LIBRARY_PATH`` (``probe_sandbox`` finds out once).
* The program's source arrives on stdin ahead of the test's input (a 12-digit length, then the
  source), so it never appears in a command line another process could read, and has no size limit
  but the memory's. The bootstrap reads it with ``os.read`` (nothing buffered), sets the limits,
  makes itself non-dumpable, compiles the source, closes the doors below and runs it as ``__main__``;
  the program then reads exactly the test's input from ``sys.stdin``.
* Limits, set in the child before any of the program runs (they are inherited and cannot be raised
  again): ``RLIMIT_AS`` (address space), ``RLIMIT_CPU`` (a backstop past the wall clock),
  ``RLIMIT_FSIZE`` (largest file it may write), ``RLIMIT_NOFILE``, ``RLIMIT_CORE`` 0; and, only
  without the seccomp filter (``allowWithoutSeccomp``), ``RLIMIT_NPROC`` 0: no ``fork``, no thread, no
  ``subprocess`` (the limit counts every process of the user, so 0 is the only value that means the same
  whatever else runs; it binds the child only, never the grader). Under the filter its ``clone`` rule
  refuses new processes instead and allows threads (bounded by ``RLIMIT_AS``: each needs a stack).
  Limits are set by the bootstrap rather than in ``preexec_fn``, which the subprocess
  documentation warns is unsafe in a process with threads (the task runs programs from a thread pool).
* A seccomp filter (``seccomp_filter``), installed by the bootstrap right before the program's first
  line, after ``PR_SET_NO_NEW_PRIVS``: signals to other processes, ptrace and cross-process memory
  access, every socket call (so no network, not even Lambda's runtime API on 127.0.0.1:9001), io_uring,
  namespaces and mounts, new processes (``fork``, ``vfork``, ``clone`` without ``CLONE_THREAD``; ``clone3``
  fails with ``ENOSYS``, so glibc falls back to ``clone``), changing another process's limits, priority or
  scheduling, ``fcntl``'s
  ``F_SETOWN``/``F_SETSIG`` (a signal sent on I/O), the keyring, bpf, perf and userfaultfd all fail
  with ``EPERM``; a system call of another ABI (x32, i386's ``int 0x80``) too. The filter outlives
  ``exec`` (``/bin/sh -c 'kill ...'`` is refused as well). Where it cannot be installed the bootstrap
  exits ``SECCOMP_FAILED`` without running the program; ``probe_sandbox`` finds that out once.
* Python-level guards as a second layer (``guards``): ``os.kill``, ``os.killpg``, ``os.pidfd_open``,
  ``signal.pidfd_send_signal``, the ``exec`` functions, ``os.setpriority`` and the ``sched_set*``
  functions raise ``PermissionError``, ``resource.prlimit`` works on the program itself only, and
  ``socket``, ``_socket``, ``ctypes``, ``_ctypes`` and ``fcntl`` cannot be imported. A determined
  program gets round them (loading an extension module by path, or through ``gc``); the filter
  does not depend on them.
* A new session (``start_new_session``), so the whole process group is killed with ``SIGKILL`` when
  the run ends, however it ends; a fresh temporary directory as the working directory, removed
  afterwards; stdout read with a cap (a program printing gigabytes is killed at the cap, the grader
  never holds more); stderr discarded.
* ``harden_parent``: the grader makes itself non-dumpable (``PR_SET_DUMPABLE`` 0) before its first
  run, so a program running as the same user cannot read ``/proc/<grader>/environ`` (where Lambda's
  credentials are), its memory or its file descriptors; each program does the same for itself, so
  programs of one batch cannot reach each other's pipes either.

Not covered (Lambda offers no namespaces): files written outside the working directory (``/tmp`` is
writable) stay, and a program can read what the grader's user can read (``/var/task``).
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
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final


class Status:
    """How a run ended."""

    EXITED: Final = "exited"  # the program exited by itself; see exit_code
    TIMEOUT: Final = "timeout"  # killed at its wall-clock limit
    OUTPUT_LIMIT: Final = "output_limit"  # killed for printing more than the cap
    DEADLINE: Final = "deadline"  # not run, or cut short, because the invocation's deadline came first
    ERROR: Final = "error"  # the grader could not start it (no memory, no disk, no process, no sandbox)


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
# Exit status of the bootstrap when the child cannot be made non-dumpable (it then writes why to stdout).
SANDBOX_FAILED: Final = 87
# Exit status of the bootstrap when the seccomp filter cannot be installed (it then writes why to stdout).
# A program can exit with these statuses itself: only the trivial run of ``probe_sandbox`` reads them.
SECCOMP_FAILED: Final = 88
# Time a run is given after SIGKILL to be reaped before the grader moves on.
REAP_SECONDS: Final = 2.0
PR_SET_DUMPABLE: Final = 4
PR_SET_SECCOMP: Final = 22
PR_SET_NO_NEW_PRIVS: Final = 38
SECCOMP_MODE_FILTER: Final = 2

# ---------------------------------------------------------------------------------------
# The seccomp filter
# ---------------------------------------------------------------------------------------

AUDIT_ARCH_X86_64: Final = 0xC000003E
AUDIT_ARCH_AARCH64: Final = 0xC00000B7
# Set in the number of an x32 system call, made by a process whose seccomp_data.arch says x86_64.
X32_SYSCALL_BIT: Final = 0x40000000

# System call numbers: x86_64 from the kernel's arch/x86/entry/syscalls/syscall_64.tbl (its "common" and
# "64" rows); aarch64 from include/uapi/asm-generic/unistd.h (arm64 has no table of its own: it uses the
# generic numbers, "kill" among them). Checked against the Linux 6.1 uapi headers generated from them
# (asm/unistd_64.h, asm-generic/unistd.h) and against musl's arch/x86_64/bits/syscall.h.in and
# arch/aarch64/bits/syscall.h.in; the tests compare both tables with the headers where these are installed.
X86_64_SYSCALLS: Final[Mapping[str, int]] = {
    # Signals to other processes (the grader: kill, stop), and pidfds to them.
    "kill": 62, "tkill": 200, "tgkill": 234, "rt_sigqueueinfo": 129, "rt_tgsigqueueinfo": 297,
    "pidfd_open": 434, "pidfd_send_signal": 424, "pidfd_getfd": 438,
    # Another process's memory, registers or pages.
    "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311, "process_madvise": 440, "kcmp": 312,
    "migrate_pages": 256, "move_pages": 279,
    # Every socket call: no network, no UNIX socket, no Lambda runtime API.
    "socket": 41, "socketpair": 53, "connect": 42, "bind": 49, "listen": 50, "accept": 43, "accept4": 288,
    "sendto": 44, "sendmsg": 46, "sendmmsg": 307, "recvfrom": 45, "recvmsg": 47, "recvmmsg": 299,
    "shutdown": 48, "getsockopt": 55, "setsockopt": 54, "getsockname": 51, "getpeername": 52,
    # io_uring (its operations bypass seccomp), namespaces and mounts.
    "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,
    "unshare": 272, "setns": 308, "mount": 165, "umount2": 166, "pivot_root": 155, "open_tree": 428,
    "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433, "mount_setattr": 442,
    # Another process's priority or CPUs (a same-user program could starve the grader).
    "setpriority": 141, "sched_setaffinity": 203, "sched_setscheduler": 144, "sched_setparam": 142,
    "sched_setattr": 314, "ioprio_set": 251,
    # Kernel attack surface no program here needs.
    "keyctl": 250, "add_key": 248, "request_key": 249, "bpf": 321, "perf_event_open": 298, "userfaultfd": 323,
    # Checked by argument (CHECKED_SYSCALLS): fcntl's commands that send signals, prlimit64 of another process,
    # clone of anything but a thread; clone3 fails with ENOSYS (its flags are in memory, out of the filter's reach).
    "fcntl": 72, "prlimit64": 302, "clone": 56, "clone3": 435,
}
AARCH64_SYSCALLS: Final[Mapping[str, int]] = {
    "kill": 129, "tkill": 130, "tgkill": 131, "rt_sigqueueinfo": 138, "rt_tgsigqueueinfo": 240,
    "pidfd_open": 434, "pidfd_send_signal": 424, "pidfd_getfd": 438,
    "ptrace": 117, "process_vm_readv": 270, "process_vm_writev": 271, "process_madvise": 440, "kcmp": 272,
    "migrate_pages": 238, "move_pages": 239,
    "socket": 198, "socketpair": 199, "connect": 203, "bind": 200, "listen": 201, "accept": 202, "accept4": 242,
    "sendto": 206, "sendmsg": 211, "sendmmsg": 269, "recvfrom": 207, "recvmsg": 212, "recvmmsg": 243,
    "shutdown": 210, "getsockopt": 209, "setsockopt": 208, "getsockname": 204, "getpeername": 205,
    "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,
    "unshare": 97, "setns": 268, "mount": 40, "umount2": 39, "pivot_root": 41, "open_tree": 428,
    "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433, "mount_setattr": 442,
    "setpriority": 140, "sched_setaffinity": 122, "sched_setscheduler": 119, "sched_setparam": 118,
    "sched_setattr": 274, "ioprio_set": 30,
    "keyctl": 219, "add_key": 217, "request_key": 218, "bpf": 280, "perf_event_open": 241, "userfaultfd": 282,
    "fcntl": 25, "prlimit64": 261, "clone": 220, "clone3": 435,
}
# Calls one architecture has and the other does not, refused outright: new processes (aarch64 has neither: its
# libc forks through clone).
X86_64_ONLY_SYSCALLS: Final[Mapping[str, int]] = {"fork": 57, "vfork": 58}
AARCH64_ONLY_SYSCALLS: Final[Mapping[str, int]] = {}
ARCHITECTURES: Final[Mapping[int, Mapping[str, int]]] = {
    AUDIT_ARCH_X86_64: X86_64_SYSCALLS,
    AUDIT_ARCH_AARCH64: AARCH64_SYSCALLS,
}
ARCHITECTURE_ONLY: Final[Mapping[int, Mapping[str, int]]] = {
    AUDIT_ARCH_X86_64: X86_64_ONLY_SYSCALLS,
    AUDIT_ARCH_AARCH64: AARCH64_ONLY_SYSCALLS,
}
# Allowed unless their arguments say otherwise: fcntl with these commands (F_SETOWN, F_SETSIG, F_SETOWN_EX:
# the kernel then signals the chosen owner, which may be the grader, on I/O; F_SETLEASE: a lease makes others'
# open() of the file wait) and prlimit64 of a process other than the program itself (0 or its own pid):
# lowering the grader's RLIMIT_CPU or RLIMIT_AS would kill it. glibc's setrlimit/getrlimit pass 0.
# clone only for a thread: CLONE_THREAD in its flags (args[0] on both architectures; the kernel reads their low 32
# bits only), and no namespace flag (no unprivileged thread may have one; refused here all the same). A thread
# shares the program's memory, limits and filter and dies with it; a new process (fork, vfork, posix_spawn,
# subprocess: clone without CLONE_THREAD) is refused with EPERM. clone3 passes its flags in a struct the filter
# cannot read: it fails with ENOSYS, on which glibc's pthread_create, fork and posix_spawn fall back to clone.
CHECKED_SYSCALLS: Final = ("fcntl", "prlimit64", "clone", "clone3")
DENIED_FCNTL_COMMANDS: Final = (8, 10, 15, 1024)  # F_SETOWN, F_SETSIG, F_SETOWN_EX, F_SETLEASE
CLONE_THREAD: Final = 0x00010000
# CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET (CLONE_NEWTIME,
# 0x80, is clone3's and unshare's only: in clone's flags that bit belongs to the exit signal).
CLONE_NAMESPACE_FLAGS: Final = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000
DENIED_SYSCALLS: Final = tuple(name for name in X86_64_SYSCALLS if name not in CHECKED_SYSCALLS)
# Not filtered, on purpose: personality (it changes nothing the kernel checks for another process; READ_IMPLIES_EXEC
# and ADDR_NO_RANDOMIZE concern the program's own memory), execve (the filter and no_new_privs survive it; it
# replaces the program, it adds no process), prctl (on the program itself only), seccomp (a further filter can only
# refuse more).

SECCOMP_RET_ALLOW: Final = 0x7FFF0000
SECCOMP_RET_ERRNO: Final = 0x00050000
EPERM: Final = 1
ENOSYS: Final = 38
DENY: Final = SECCOMP_RET_ERRNO | EPERM
NO_SUCH_CALL: Final = SECCOMP_RET_ERRNO | ENOSYS
# Classic BPF opcodes the filter uses.
BPF_LD_W_ABS: Final = 0x20
BPF_JEQ_K: Final = 0x15
BPF_JGE_K: Final = 0x35
BPF_JSET_K: Final = 0x45
BPF_RET_K: Final = 0x06
# Offsets in struct seccomp_data: int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6].
SECCOMP_DATA_NR: Final = 0
SECCOMP_DATA_ARCH: Final = 4
SECCOMP_DATA_ARGS: Final = 16
SOCK_FILTER_BYTES: Final = 8  # struct sock_filter: __u16 code; __u8 jt; __u8 jf; __u32 k
# Placeholder of the program's own pid in the filter (the child writes it in: the pid exists only there).
OWN_PID: Final = -1


@dataclass(frozen=True, slots=True)
class SeccompFilter:
    """The filter as struct sock_filter[] in this machine's byte order, and the instructions whose ``k`` is the
    program's own pid (``OWN_PID`` here; the bootstrap writes its pid in before installing it)."""

    program: bytes
    pid_slots: tuple[int, ...]

    def with_pid(self, pid: int) -> bytes:
        program = bytearray(self.program)
        for slot in self.pid_slots:
            start = slot * SOCK_FILTER_BYTES + 4
            program[start : start + 4] = pid.to_bytes(4, sys.byteorder)
        return bytes(program)


# An instruction (code, k, jump-if-true label, jump-if-false label; None: the next one) or a label.
_Instruction = tuple[int, int, str | None, str | None]


def _argument_offset(index: int, high: bool) -> int:
    """Offset of the low or high 32 bits of args[index] in seccomp_data (64-bit values, native order)."""
    low_first = sys.byteorder == "little"
    return SECCOMP_DATA_ARGS + 8 * index + (4 if high == low_first else 0)


def _architecture_section(label: str, table: Mapping[str, int], only: Mapping[str, int], *,
                           x32: bool) -> list[_Instruction | str]:
    """The filter's part for one architecture: deny its numbers (``only``: those of this architecture alone),
    check fcntl, prlimit64 and clone, refuse clone3 with ENOSYS, allow the rest."""
    deny, allow = f"{label}.deny", f"{label}.allow"
    section: list[_Instruction | str] = [label, (BPF_LD_W_ABS, SECCOMP_DATA_NR, None, None)]
    if x32:
        section.append((BPF_JGE_K, X32_SYSCALL_BIT, deny, None))
    section.append((BPF_JEQ_K, table["fcntl"], f"{label}.fcntl", None))
    section.append((BPF_JEQ_K, table["prlimit64"], f"{label}.prlimit64", None))
    section.append((BPF_JEQ_K, table["clone"], f"{label}.clone", None))
    section.append((BPF_JEQ_K, table["clone3"], f"{label}.nosys", None))
    section.extend((BPF_JEQ_K, table[name], deny, None) for name in DENIED_SYSCALLS)
    section.extend((BPF_JEQ_K, number, deny, None) for number in only.values())
    section.append((BPF_RET_K, SECCOMP_RET_ALLOW, None, None))
    section.extend([f"{label}.fcntl", (BPF_LD_W_ABS, _argument_offset(1, high=False), None, None)])
    section.extend((BPF_JEQ_K, command, deny, None) for command in DENIED_FCNTL_COMMANDS)
    section.append((BPF_RET_K, SECCOMP_RET_ALLOW, None, None))
    section.extend([
        f"{label}.prlimit64",
        (BPF_LD_W_ABS, _argument_offset(0, high=True), None, None),
        (BPF_JEQ_K, 0, None, deny),
        (BPF_LD_W_ABS, _argument_offset(0, high=False), None, None),
        (BPF_JEQ_K, 0, allow, None),
        (BPF_JEQ_K, OWN_PID, allow, deny),
    ])
    section.extend([
        f"{label}.clone",
        (BPF_LD_W_ABS, _argument_offset(0, high=False), None, None),
        (BPF_JSET_K, CLONE_NAMESPACE_FLAGS, deny, None),
        (BPF_JSET_K, CLONE_THREAD, allow, deny),
        f"{label}.nosys",
        (BPF_RET_K, NO_SUCH_CALL, None, None),
    ])
    section.extend([deny, (BPF_RET_K, DENY, None, None), allow, (BPF_RET_K, SECCOMP_RET_ALLOW, None, None)])
    return section


def seccomp_filter() -> SeccompFilter:
    """The filter: check ``seccomp_data.arch`` first (an unknown one, i386's ``int 0x80`` from an x86_64 process
    among them, is refused whatever the call), then that architecture's table."""
    items: list[_Instruction | str] = [
        (BPF_LD_W_ABS, SECCOMP_DATA_ARCH, None, None),
        (BPF_JEQ_K, AUDIT_ARCH_X86_64, "x86_64", None),
        (BPF_JEQ_K, AUDIT_ARCH_AARCH64, "aarch64", None),
        (BPF_RET_K, DENY, None, None),
        *_architecture_section("x86_64", X86_64_SYSCALLS, X86_64_ONLY_SYSCALLS, x32=True),
        *_architecture_section("aarch64", AARCH64_SYSCALLS, AARCH64_ONLY_SYSCALLS, x32=False),
    ]
    return _assemble(items)


def _assemble(items: list[_Instruction | str]) -> SeccompFilter:
    positions: dict[str, int] = {}
    instructions: list[_Instruction] = []
    for item in items:
        if isinstance(item, str):
            positions[item] = len(instructions)
        else:
            instructions.append(item)
    program = bytearray()
    slots: list[int] = []
    for index, (code, k, true, false) in enumerate(instructions):
        jumps = []
        for target in (true, false):
            jump = 0 if target is None else positions[target] - index - 1
            if not 0 <= jump <= 255:
                raise ValueError(f"seccomp filter: a jump of {jump} from instruction {index} to {target}")
            jumps.append(jump)
        if k == OWN_PID:
            slots.append(index)
            k = 0
        program += code.to_bytes(2, sys.byteorder) + bytes(jumps) + k.to_bytes(4, sys.byteorder)
    return SeccompFilter(bytes(program), tuple(slots))


# Runs in the child before the program: limits, non-dumpable, the source from stdin, the Python-level guards
# and the seccomp filter, then the program as __main__ in a namespace holding nothing of the bootstrap. Values
# are substituted as literals ({{ and }} are braces).
_BOOTSTRAP: Final = """\
def _bootstrap():
    import os, resource, sys
    for kind, soft, hard in {limits!r}:
        current = resource.getrlimit(kind)[1]
        if current != resource.RLIM_INFINITY:
            soft, hard = min(soft, current), min(hard, current)
        try:
            resource.setrlimit(kind, (soft, hard))
        except (ValueError, OSError):
            if sys.platform.startswith("linux"):
                raise
    def failed(status, what, number):
        import errno
        name = errno.errorcode.get(number, str(number))
        os.write(1, f"{{what}}: {{os.strerror(number)}} ({{name}})\\n".encode())
        os._exit(status)
    prctl = None
    try:
        import _ctypes
        class Int(_ctypes._SimpleCData):
            _type_ = "i"
        class ULong(_ctypes._SimpleCData):
            _type_ = "L"
        class Char(_ctypes._SimpleCData):
            _type_ = "c"
        class Function(_ctypes.CFuncPtr):
            _flags_ = _ctypes.FUNCFLAG_CDECL | _ctypes.FUNCFLAG_USE_ERRNO
            _restype_ = Int
        class Libc:
            _handle = _ctypes.dlopen(None)
        prctl = Function(("prctl", Libc()))
    except (ImportError, AttributeError, OSError):
        if sys.platform.startswith("linux"):
            raise
    if prctl is not None and prctl(ULong({pr_set_dumpable}), ULong(0), ULong(0), ULong(0), ULong(0)) != 0:
        failed({sandbox_failed}, "sandbox: prctl(PR_SET_DUMPABLE, 0)", _ctypes.get_errno())
    def read(size):
        parts = []
        while size > 0:
            part = os.read(0, min(size, 1 << 20))
            if not part:
                sys.exit({bootstrap_failed})
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
    if {guards!r}:
        def refused(*args, **kwargs):
            raise PermissionError(1, "Operation not permitted in the sandbox")
        for module, names in ((os, {os_names!r}), (sys.modules.get("posix"), {os_names!r}),
                              (sys.modules.get("_signal"), {signal_names!r}),
                              (sys.modules.get("signal"), {signal_names!r})):
            for name in names:
                if module is not None and hasattr(module, name):
                    setattr(module, name, refused)
        own_pid, real_prlimit = os.getpid(), getattr(resource, "prlimit", None)
        if real_prlimit is not None:
            def prlimit(pid, *arguments):
                if pid not in (0, own_pid):
                    refused()
                return real_prlimit(pid, *arguments)
            resource.prlimit = prlimit
        blocked = frozenset({blocked_modules!r})
        class Blocked:
            @staticmethod
            def find_spec(name, path=None, target=None):
                if name.partition(".")[0] in blocked:
                    raise ModuleNotFoundError(f"No module named {{name!r}} in the sandbox", name=name)
                return None
        sys.meta_path.insert(0, Blocked)
        for name in [name for name in sys.modules if name.partition(".")[0] in blocked]:
            del sys.modules[name]
    if {seccomp!r}:
        if prctl is None:
            failed({seccomp_failed}, "seccomp: prctl", 38)  # ENOSYS: not Linux
        program = bytearray.fromhex("{filter_hex}")
        for slot in {pid_slots!r}:
            program[8 * slot + 4 : 8 * slot + 8] = os.getpid().to_bytes(4, sys.byteorder)
        class Instructions(_ctypes.Array):
            _type_ = Char
            _length_ = len(program)
        instructions = Instructions.from_buffer_copy(program)
        width = _ctypes.sizeof(ULong)
        header = ((len(program) // 8).to_bytes(2, sys.byteorder) + bytes(width - 2)
                  + _ctypes.addressof(instructions).to_bytes(width, sys.byteorder))
        class Header(_ctypes.Array):
            _type_ = Char
            _length_ = len(header)
        fprog = Header.from_buffer_copy(header)
        if prctl(ULong({pr_set_no_new_privs}), ULong(1), ULong(0), ULong(0), ULong(0)) != 0:
            failed({seccomp_failed}, "seccomp: prctl(PR_SET_NO_NEW_PRIVS, 1)", _ctypes.get_errno())
        if prctl(ULong({pr_set_seccomp}), ULong({seccomp_mode_filter}), fprog, ULong(0), ULong(0)) != 0:
            failed({seccomp_failed}, "seccomp: prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER)", _ctypes.get_errno())
        descriptor = Function(("socket", Libc()))(Int(1), Int(1), Int(0))  # AF_UNIX, SOCK_STREAM: must fail
        if descriptor >= 0 or _ctypes.get_errno() != 1:
            if descriptor >= 0:
                os.close(descriptor)
            failed({seccomp_failed}, "seccomp: the filter is installed but socket() is not refused",
                   _ctypes.get_errno() if descriptor < 0 else 0)
    exec(code, namespace)
_bootstrap()
"""
# What the guards replace with a function raising PermissionError, and the modules they make unimportable.
GUARDED_OS_FUNCTIONS: Final = ("kill", "killpg", "pidfd_open", "execv", "execve", "setpriority",
                               "sched_setaffinity", "sched_setscheduler", "sched_setparam")
GUARDED_SIGNAL_FUNCTIONS: Final = ("pidfd_send_signal",)
BLOCKED_MODULES: Final = ("socket", "_socket", "ctypes", "_ctypes", "fcntl")


def bootstrap_source(limits: Limits, *, seccomp: bool = True, guards: bool = True) -> str:
    """The child's bootstrap for these limits (the wall-clock limit is the parent's to enforce). ``seccomp``:
    install the filter, or exit ``SECCOMP_FAILED`` without running the program; ``guards``: the Python-level
    guards (only the tests turn them off, to show what the filter does alone)."""
    cpu = max(1, math.ceil(limits.wall_seconds)) + 1
    rlimits: list[tuple[int, int, int]] = [
        (resource.RLIMIT_AS, limits.memory_bytes, limits.memory_bytes),
        (resource.RLIMIT_CPU, cpu, cpu + 1),
        (resource.RLIMIT_FSIZE, limits.file_bytes, limits.file_bytes),
        (resource.RLIMIT_NOFILE, limits.open_files, limits.open_files),
        (resource.RLIMIT_CORE, 0, 0),
    ]
    if not seccomp:  # without the filter only RLIMIT_NPROC 0 keeps processes (and threads) from starting
        rlimits.append((resource.RLIMIT_NPROC, 0, 0))
    compiled = seccomp_filter() if seccomp else SeccompFilter(b"", ())
    return _BOOTSTRAP.format(
        limits=rlimits, pr_set_dumpable=PR_SET_DUMPABLE, sandbox_failed=SANDBOX_FAILED,
        bootstrap_failed=BOOTSTRAP_FAILED, digits=HEADER_DIGITS, guards=guards, os_names=GUARDED_OS_FUNCTIONS,
        signal_names=GUARDED_SIGNAL_FUNCTIONS, blocked_modules=BLOCKED_MODULES, seccomp=seccomp,
        seccomp_failed=SECCOMP_FAILED, filter_hex=compiled.program.hex(), pid_slots=compiled.pid_slots,
        pr_set_no_new_privs=PR_SET_NO_NEW_PRIVS, pr_set_seccomp=PR_SET_SECCOMP,
        seccomp_mode_filter=SECCOMP_MODE_FILTER,
    )


_hardened = False


def harden_parent() -> bool:
    """Make this process non-dumpable (once): its /proc entries (environ, mem, fd) become unreadable to
    processes of the same user without CAP_SYS_PTRACE. False where prctl does not exist (not Linux); OSError
    when prctl refuses."""
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
# The trivial program: prints ok and the Seccomp field of its /proc/self/status (2: a filter is installed).
_CANARY_SOURCE: Final = b"""\
mode = "-"
try:
    with open("/proc/self/status") as status:
        mode = [line.split()[1] for line in status if line.startswith("Seccomp:")][0]
except (OSError, IndexError):
    pass
print("ok", mode)
"""


@dataclass(frozen=True, slots=True)
class Probe:
    """What the trivial run found: the environment children start in, or (``env`` None) why programs cannot run."""

    env: dict[str, str] | None
    problem: str = ""  # when env is None: why, for the log
    seccomp_failed: bool = False  # the interpreter runs, but the filter cannot be installed
    filtered: bool = False  # the trivial program ran under a seccomp filter


_probes: dict[str, Probe] = {}
_probes_lock = threading.Lock()


def probe_sandbox(limits: Limits, bootstrap: str, *, seccomp: bool, wall_seconds: float = 5.0) -> Probe:
    """Run a trivial program under ``bootstrap`` (``seccomp``: built with the filter) and these limits: in an
    empty environment, else with only ``LD_LIBRARY_PATH`` (the grader's) when that is what it takes. Found once
    per process and bootstrap (one run of about 10 ms), within ``wall_seconds``; when that is too short to tell,
    an empty environment for now, asked again next time (a run under a seccomp bootstrap never runs
    unfiltered: the bootstrap exits first)."""
    with _probes_lock:
        if bootstrap in _probes:
            return _probes[bootstrap]
        candidates: list[dict[str, str]] = [{}]
        if os.environ.get(LOADER_PATH_ENV):
            candidates.append({LOADER_PATH_ENV: os.environ[LOADER_PATH_ENV]})
        details: list[str] = []
        probe: Probe | None = None
        for env in candidates:
            result = run_python(_CANARY_SOURCE, b"", limits, bootstrap, env=env, wall_seconds=wall_seconds)
            if result.status == Status.TIMEOUT:
                return Probe({})  # no verdict in the time there was
            if result.status == Status.EXITED and result.exit_code in (SANDBOX_FAILED, SECCOMP_FAILED):
                reason = result.stdout.decode("utf-8", "replace").strip() or f"exit status {result.exit_code}"
                probe = Probe(None, reason, seccomp_failed=result.exit_code == SECCOMP_FAILED)
                break
            words = result.stdout.split()
            if result.exited_cleanly and len(words) == 2 and words[0] == b"ok":
                mode = words[1].decode("ascii", "replace")
                if seccomp and mode not in ("2", "-"):
                    probe = Probe(None, f"seccomp: the filter is not in force in the program (Seccomp: {mode})",
                                  seccomp_failed=True)
                else:
                    probe = Probe(env, filtered=mode == "2" or (seccomp and mode == "-"))
                break
            details.append(_describe(result))
        if probe is None:
            probe = Probe(None, f"a trivial program does not run in the sandbox ({'; '.join(details)})")
        _probes[bootstrap] = probe
        return probe


def _describe(result: RunResult) -> str:
    if result.status == Status.EXITED:
        return f"exit status {result.exit_code}"
    return f"{result.status}: {result.detail}" if result.detail else result.status


def run_python(source: bytes, stdin: bytes, limits: Limits, bootstrap: str, *, env: dict[str, str] | None = None,
               wall_seconds: float | None = None, clock: Callable[[], float] = time.monotonic) -> RunResult:
    """Run ``source`` on ``stdin`` under ``limits`` (``bootstrap`` is ``bootstrap_source(limits)``, built
    once per configuration) in the environment ``env`` (default: empty; see ``probe_sandbox``).
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
