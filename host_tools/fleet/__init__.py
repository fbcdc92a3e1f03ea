"""`sunprint fleet` (command.py): one local web page with every unit's sign picture, numbers and faults.

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
