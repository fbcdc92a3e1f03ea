"""Children a test will stop with Ctrl-C (SIGINT) start as from a terminal: SIGINT at its default
and unblocked. A process inherits an ignored or blocked SIGINT across exec (a shell's background
job, or a test worker whose state some library changed), and Python then installs no
KeyboardInterrupt handler: the test's Ctrl-C would do nothing. In full `make test` runs the sim
board and monitor Ctrl-C tests hung this way (10 s, 60 s) while they pass when run alone."""

import signal


def as_from_a_terminal():
    """preexec_fn for subprocess.Popen."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGINT])


def sigint_state(pid):
    """The SigBlk/SigIgn lines of /proc/PID/status, for an assertion's message."""
    try:
        with open("/proc/%d/status" % pid) as f:
            return " ".join(ln.strip() for ln in f if ln.startswith(("SigBlk", "SigIgn")))
    except OSError:
        return "(gone)"
