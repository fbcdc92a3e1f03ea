"""`sunprint fleet`: one local web page with every unit's sign picture, numbers and faults.

What it does and its options: command.py (the command), topics.py (the units' MQTT payloads),
web.py (the page)."""
