"""Small helpers several test files share (imported as ``from _shared import ...``)."""

from microgradx import Value
from microgradx.__main__ import main


def lecture_graph():
    """The lecture's f = (x + y) * z at x = -2, y = 5, z = -4, with labels."""
    x, y, z = Value(-2.0, label="x"), Value(5.0, label="y"), Value(-4.0, label="z")
    q = x + y
    q.label = "q"
    f = q * z
    f.label = "f"
    return f


def run_cli(capsys, *argv):
    """Run ``microgradx ARGV`` in-process: (exit code, stdout, stderr)."""
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_error_line(err):
    """The single error line an expected CLI failure prints (no traceback)."""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]
