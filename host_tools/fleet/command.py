"""`sunprint fleet`: one local web page with every unit's sign picture, numbers and faults.

    sunprint fleet --mqtt HOST:PORT [--registry CSV] [--listen 127.0.0.1:PORT]
                   [--stale-after S] [--max-units N]

Subscribes to the units' MQTT topics (topics.py: the one file that knows their payloads),
joins them with the flashing registry (units flashed but never seen are listed too) and serves
the page (web.py) on loopback unless --listen names another address. Read-only: no route
changes anything, on the host or on a unit. A unit whose last message is older than
--stale-after seconds is shown stale; nonsense it publishes is flagged; what is ignored (a
malformed payload, a unit over the --max-units cap, a registry row that names no unit) is said
on the page, never fatal.
"""

from __future__ import annotations

import sys

from host_tools.errors import UserError

TOOL = "sunprint fleet"
DEFAULT_LISTEN = "127.0.0.1:8019"


def _host_port(text, option):
    host, sep, port = (text or "").rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UserError("%s: expected HOST:PORT (e.g. 127.0.0.1:1883), got %r" % (option, text))
    return host.strip("[]"), int(port)


def add_cli(sub):
    p = sub.add_parser(
        "fleet",
        help="a local web page of every unit: its sign's picture, numbers, faults (MQTT)",
        description=__doc__.split("\n\n")[2] if __doc__ else None,
    )
    p.add_argument("--mqtt", required=True, metavar="HOST:PORT", help="the units' MQTT broker")
    p.add_argument("--registry", metavar="CSV", help="the flashing registry (sunprint flash)")
    p.add_argument("--listen", default=DEFAULT_LISTEN, metavar="HOST:PORT",
                   help="where the page is served (default %s: this machine only)" % DEFAULT_LISTEN)  # fmt: skip
    p.add_argument("--stale-after", type=float, default=120.0, metavar="S",
                   help="a unit silent for longer than S seconds is shown stale (default 120)")  # fmt: skip
    p.add_argument("--max-units", type=int, default=2000, metavar="N",
                   help="keep at most N units; messages for more are counted and ignored")  # fmt: skip
    p.set_defaults(func=cmd_fleet)


def build(args):
    """(FleetApp, Subscriber or None, (host, port)) from parsed options; UserError if bad."""
    from host_tools.fleet import model
    from host_tools.fleet.mqtt import Subscriber
    from host_tools.fleet.web import FleetApp

    mhost, mport = _host_port(args.mqtt, "--mqtt")
    lhost, lport = _host_port(args.listen, "--listen")
    if not args.stale_after > 0:
        raise UserError("--stale-after: must be more than 0 s, got %g" % args.stale_after)
    if not 1 <= args.max_units <= 100000:
        raise UserError("--max-units: must be 1 to 100000, got %d" % args.max_units)
    _check_listen(lhost, lport)
    reg = None
    if args.registry:
        from host_tools import registry

        reg = registry.check(args.registry)  # a file that is not a registry: refused, exit 2
    fleet = model.Fleet(max_units=args.max_units, stale_after_s=args.stale_after, registry_path=reg)
    web = FleetApp(fleet, mqtt_shown="%s:%d" % (mhost, mport), registry_shown=str(reg or ""))
    return web, Subscriber(fleet, mhost, mport), (lhost, lport)


def _check_listen(host, port):
    """UserError unless the page can be served at host:port (checked before anything starts)."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as e:
        raise UserError("--listen %s:%d: %s" % (host, port, e.strerror or e)) from None
    family, _, _, _, addr = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(addr)
        except OSError as e:
            raise UserError(
                "--listen %s:%d: cannot serve there (%s)" % (host, port, e.strerror)
            ) from None


def cmd_fleet(args):
    import uvicorn

    web, sub, (host, port) = build(args)
    if host not in ("127.0.0.1", "localhost", "::1"):
        print("%s: note: serving on %s, not only this machine" % (TOOL, host), file=sys.stderr)
    sub.start()
    print("%s: http://%s:%d/ (MQTT %s)" % (TOOL, host, port, web.mqtt_shown), flush=True)
    try:
        config = uvicorn.Config(
            web.app, host=host, port=port, log_level="warning", access_log=False
        )
        server = uvicorn.Server(config)
        server.run()
        if not server.started:
            raise UserError("--listen %s:%d: could not serve there (in use?)" % (host, port))
    finally:
        sub.stop()
        web.close()
    return 0
