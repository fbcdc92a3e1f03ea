"""The command-line options of the commands that talk to a unit over its serial link (logs,
monitor, calibrate, deploy, paneltest): one wording and one default each, so that every command
says them alike."""

from host_tools import registry


def add_port(p):
    """--port: where the unit is (required)."""
    p.add_argument("--port", required=True, help="serial port, /dev/pts/N or socket://host:port")


def add_timeout(p):
    """--timeout: seconds to wait for the unit (5 by default)."""
    p.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for the unit")


def add_registry(p, tool):
    """--registry: the unit registry CSV that `tool` appends its clock correction to."""
    p.add_argument(
        "--registry",
        default=None,
        help="unit registry CSV: a row with the clock offset %s corrected is appended "
        "(default: %s if this folder has it)" % (tool, registry.DEFAULT),
    )
