"""The virtual board's child process: the MicroPython unix port (PyPI's `micropython` runs it
inside CPython, from the micropython_run extension), started so that it behaves as a board.

    python vboard_launch.py -- -X heapsize=N -c CODE

Ctrl-C. A board's UART interrupt only *schedules* KeyboardInterrupt (mp_sched_keyboard_interrupt):
the VM raises it at its next check, between bytecodes. The unix port's standard variant has
threads without a GIL, so it raises KeyboardInterrupt straight from its SIGINT handler
(MICROPY_ASYNC_KBD_INTR): a longjmp out of whatever C code runs. One that lands while the VM
holds the qstr table's mutex (taken for every new name: thousands while a boot imports the
app) leaves the mutex locked, and the next new name - compiling the host's first exec - waits
for ever; one that lands in list.reverse() leaves the list half reversed. So the bridge sends
SIGUSR1 instead, and here SIGUSR1's handler is the port's own mp_sched_keyboard_interrupt (safe
in a signal handler: it only sets the pending exception), installed without SA_RESTART so a
blocking read returns EINTR and the port raises the interrupt there, as on a board.
"""

import ctypes
import signal
import sys

INTERRUPT_SIGNAL = signal.SIGUSR1  # the port uses SIGINT itself, and SIGRTMIN+5 for its GC


def route_interrupts(library_path):
    """SIGUSR1 -> the port's mp_sched_keyboard_interrupt (see the module docstring)."""
    port = ctypes.CDLL(library_path)  # the extension already loaded: the same handle
    handler = ctypes.cast(port.mp_sched_keyboard_interrupt, ctypes.c_void_p).value
    libc = ctypes.CDLL(None, use_errno=True)
    libc.signal.restype = ctypes.c_void_p
    libc.signal.argtypes = (ctypes.c_int, ctypes.c_void_p)
    if libc.signal(int(INTERRUPT_SIGNAL), handler) == ctypes.c_void_p(-1).value:
        raise OSError(ctypes.get_errno(), "signal(SIGUSR1)")
    # glibc's signal() sets SA_RESTART: clear it, so a blocked read is interrupted
    signal.siginterrupt(INTERRUPT_SIGNAL, True)


def main(argv):
    args = argv[argv.index("--") + 1 :]
    import micropython_run

    route_interrupts(micropython_run.__file__)
    return micropython_run.run_main(["micropython", *args])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
