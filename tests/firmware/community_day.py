# The bundled community day (assets/logs/community-zhongshan-2024-10-15.csv: each home's power,
# minute by minute) as the whole community unit tests run it: 11:00 to 11:40. A module of its own,
# small: those tests run at 110000 B. CPython and MicroPython.
from repo import ROOT

LOG = ROOT + "/assets/logs/community-zhongshan-2024-10-15.csv"
FIRST, MINUTES = 11 * 60, 40  # 11:00, for 40 minutes


def powers(first, n):
    # the log's rows for minutes first .. first + n - 1: each home's mean power (W)
    rows = []
    with open(LOG) as f:
        for line in f:
            if line[0] != "2":
                continue  # comments and the column names
            minute = int(line[11:13]) * 60 + int(line[14:16])
            if first <= minute < first + n:
                cells = line.split(",")
                # whole watts: small ints (a float is an object on the heap in MicroPython)
                rows.append([int(float(cells[1 + 2 * i])) for i in range((len(cells) - 1) // 2)])
    return rows
