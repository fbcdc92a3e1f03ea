"""The sample log: what the device records and what replay reads.

Format version 1, a CSV text file with '\\n' line endings:

    # sunprint samplelog 1            <- format line (optional in a plain CSV)
    # site=Zhongshan lat=22.5 ...      <- any number of '#' comment lines before the header
    timestamp,power_w                  <- the header, exactly
    1728921600,0.0                     <- UNIX seconds (UTC, integer), PV power in W (decimal)

Rows must be in strictly increasing time order and the file must end with a newline: a last
line without one is a write torn by a power cut. The reader names file and line for every fault.
"""

FORMAT_LINE = "# sunprint samplelog 1"
FORMAT_PREFIX = "# sunprint samplelog "
HEADER = "timestamp,power_w"
VERSION = 1


class SampleLogError(ValueError):
    """A sample log that cannot be read; str() is 'path:line: what is wrong'."""

    def __init__(self, path, line, message):
        super().__init__("%s:%d: %s" % (path, line, message))
        self.path = path
        self.line = line
        self.message = message


def _is_finite(x):
    return x == x and x not in (float("inf"), float("-inf"))


def read_samples(stream, path="<log>"):
    """Yield (unix_seconds, power_w) from an open text stream, checking every line.

    Raises SampleLogError naming path and line on the first fault.
    """
    lineno = 0
    seen_header = False
    last_t = None
    for raw in stream:
        lineno += 1
        if not raw.endswith("\n"):
            raise SampleLogError(path, lineno, "truncated last line (no newline at end of file)")
        line = raw.rstrip("\r\n")
        if not seen_header:
            if line.startswith("#"):
                if line.startswith(FORMAT_PREFIX):
                    version = line[len(FORMAT_PREFIX) :].strip()
                    if version != str(VERSION):
                        raise SampleLogError(
                            path, lineno, "unsupported samplelog version %r (want 1)" % version
                        )
                continue
            if line.replace(" ", "") != HEADER:
                raise SampleLogError(path, lineno, "expected header %r, got %r" % (HEADER, line))
            seen_header = True
            continue
        if not line:
            raise SampleLogError(path, lineno, "empty line")
        fields = line.split(",")
        if len(fields) != 2:
            raise SampleLogError(path, lineno, "expected 2 fields, got %d" % len(fields))
        try:
            t = int(fields[0])
        except ValueError:
            raise SampleLogError(path, lineno, "timestamp %r is not an integer" % fields[0])
        try:
            p = float(fields[1])
        except ValueError:
            raise SampleLogError(path, lineno, "power_w %r is not a number" % fields[1])
        if not _is_finite(p):
            raise SampleLogError(path, lineno, "power_w %r is not a finite number" % fields[1])
        if last_t is not None and t <= last_t:
            raise SampleLogError(
                path, lineno, "timestamp %d is not after the previous one (%d)" % (t, last_t)
            )
        last_t = t
        yield t, p
    if not seen_header:
        raise SampleLogError(path, max(lineno, 1), "no header %r found" % HEADER)


def write_header(stream, meta=None):
    """Write the format line, optional 'key=value' metadata and the header."""
    stream.write(FORMAT_LINE + "\n")
    if meta:
        stream.write("# " + " ".join("%s=%s" % (k, meta[k]) for k in sorted(meta)) + "\n")
    stream.write(HEADER + "\n")


def format_row(t, power_w):
    return "%d,%.1f\n" % (t, power_w)
