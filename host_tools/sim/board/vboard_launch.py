"""The virtual board's child process: the unit's VM (MicroPython 1.26.1's unix port as a
32-bit binary, the stock image or the one with the app frozen, tools/micropython.py), started
so that it behaves as a board: this CPython script sets the process up, then execs the VM.

    python -I vboard_launch.py --parent PID --flash DIR --vm BINARY -- -X heapsize=N -c CODE

It dies with its bridge (the settings below outlive the exec). PR_SET_PDEATHSIG kills it when the thread that started it ends (the
bridge starts every child from one thread that lives as long as the bridge's process, see
vboard.py), also when the bridge is killed with SIGKILL; a flash folder never has two units.

It writes only in its flash folder. Landlock (Linux 5.13+, unprivileged) takes every right to
change the file system away from the process except beneath DIR: neither the compiled sim
modules that every virtual board imports nor any other host file can be changed, whatever the
board's code reaches (the agent also hides the unix port's host-only modules: sim/
vboard_agent.py). Where the kernel has no Landlock the agent's hiding is all there is.

Ctrl-C. A board's UART interrupt only *schedules* KeyboardInterrupt (mp_sched_keyboard_interrupt):
the VM raises it at its next check, between bytecodes. The unix port's standard variant has
threads without a GIL, so it raises KeyboardInterrupt straight from its SIGINT handler
(MICROPY_ASYNC_KBD_INTR): a longjmp out of whatever C code runs. One that lands while the VM
holds the qstr table's mutex (taken for every new name: thousands while a boot imports the
app) leaves the mutex locked, and the next new name - compiling the host's first exec - waits
for ever; one that lands in list.reverse() leaves the list half reversed. So the bridge sends
SIGUSR1 instead, and SIGUSR1's handler is the port's own mp_sched_keyboard_interrupt (safe in a
signal handler: it only sets the pending exception), installed without SA_RESTART so a blocking
read returns EINTR and the port raises the interrupt there, as on a board. The VM installs it
itself, first thing (the agent calls vboardsig.route_interrupts, a C module built into the
32-bit binaries: port/unix/modules/vboardsig); until then SIGUSR1 is ignored here, so a Ctrl-C
that comes that early is lost, as a board's before its REPL runs, and kills nothing.
"""

# CPython only, but mpy-cross compiles it with the rest of host_tools/sim (replay's tree):
# MicroPython's syntax.
import ctypes
import os
import signal
import sys

INTERRUPT_SIGNAL = signal.SIGUSR1  # the port uses SIGINT itself, and SIGRTMIN+5 for its GC

_PR_SET_PDEATHSIG = 1
_PR_SET_NO_NEW_PRIVS = 38
# Landlock (include/uapi/linux/landlock.h): syscalls, and the rights to change a file system
# by ABI version (1: 5.13, 2: REFER, 3: TRUNCATE); ABI 6 scopes signals and abstract sockets.
_LANDLOCK_CREATE_RULESET, _LANDLOCK_ADD_RULE, _LANDLOCK_RESTRICT_SELF = 444, 445, 446
_LANDLOCK_CREATE_RULESET_VERSION = 1
_LANDLOCK_RULE_PATH_BENEATH = 1
_WRITE_RIGHTS_V1 = sum(1 << b for b in (1, 4, 5, 6, 7, 8, 9, 10, 11, 12))  # WRITE_FILE..MAKE_SYM
_REFER, _TRUNCATE = 1 << 13, 1 << 14
_SCOPE_ABSTRACT_UNIX_SOCKET, _SCOPE_SIGNAL = 1 << 0, 1 << 1


class _RulesetAttr(ctypes.Structure):
    _fields_ = (("fs", ctypes.c_uint64), ("net", ctypes.c_uint64), ("scoped", ctypes.c_uint64))


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = (("allowed", ctypes.c_uint64), ("parent_fd", ctypes.c_int32))


def _libc():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    libc.prctl.argtypes = (ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong,
                           ctypes.c_ulong)  # fmt: skip
    return libc


def die_with_parent(parent_pid):
    """SIGKILL when the thread that started this process ends; exit now if it already has."""
    if not sys.platform.startswith("linux"):
        return
    _libc().prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:  # the bridge died before the line above
        os._exit(1)


def landlock_abi():
    """The kernel's Landlock ABI version, 0 without Landlock."""
    if not sys.platform.startswith("linux"):
        return 0
    libc = _libc()
    abi = libc.syscall(_LANDLOCK_CREATE_RULESET, None, ctypes.c_size_t(0),
                       ctypes.c_uint32(_LANDLOCK_CREATE_RULESET_VERSION))  # fmt: skip
    return max(0, abi)


def confine_writes(folder):
    """Allow changes to the file system beneath `folder` only (and signals only inside this
    process's own domain). Returns the Landlock ABI used, 0 where the kernel has none."""
    abi = landlock_abi()
    if abi < 1:
        return 0
    libc = _libc()
    rights = _WRITE_RIGHTS_V1 | (_REFER if abi >= 2 else 0) | (_TRUNCATE if abi >= 3 else 0)
    scoped = _SCOPE_ABSTRACT_UNIX_SOCKET | _SCOPE_SIGNAL if abi >= 6 else 0
    attr = _RulesetAttr(rights, 0, scoped)
    ruleset = libc.syscall(_LANDLOCK_CREATE_RULESET, ctypes.byref(attr),
                           ctypes.c_size_t(ctypes.sizeof(attr)), ctypes.c_uint32(0))  # fmt: skip
    if ruleset < 0:
        raise OSError(ctypes.get_errno(), "landlock_create_ruleset")
    try:
        fd = os.open(folder, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            rule = _PathBeneath(rights, fd)
            if libc.syscall(_LANDLOCK_ADD_RULE, ctypes.c_int(ruleset),
                            ctypes.c_int(_LANDLOCK_RULE_PATH_BENEATH), ctypes.byref(rule),
                            ctypes.c_uint32(0)) < 0:  # fmt: skip
                raise OSError(ctypes.get_errno(), "landlock_add_rule %s" % folder)
        finally:
            os.close(fd)
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")
        if libc.syscall(_LANDLOCK_RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0)) < 0:
            raise OSError(ctypes.get_errno(), "landlock_restrict_self")
    finally:
        os.close(ruleset)
    return abi


def main(argv):
    split = argv.index("--")
    options, args = argv[1:split], argv[split + 1 :]
    opts = dict(zip(options[::2], options[1::2], strict=True))
    if "--parent" in opts:
        die_with_parent(int(opts["--parent"]))
    if "--flash" in opts:
        confine_writes(opts["--flash"])
    # Ignored until the VM routes it (an ignored signal stays ignored across exec; a handled
    # one would fall back to the default, which kills)
    signal.signal(INTERRUPT_SIGNAL, signal.SIG_IGN)
    vm = opts["--vm"]
    os.execv(vm, [vm] + args)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
