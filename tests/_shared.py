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


def lecture_network():
    """The lecture's 1-D network: z⁽¹⁾ = θ⁽¹⁾x + θ₀⁽¹⁾, a⁽¹⁾ = σ(z⁽¹⁾), ..., ε = ½(y − ŷ)²."""
    x, y = Value.constant(0.5, label="x"), Value.constant(1.0, label="y")
    t1, t01 = Value(0.8, label="θ⁽¹⁾"), Value(-0.2, label="θ₀⁽¹⁾")
    t2, t02 = Value(1.5, label="θ⁽²⁾"), Value(0.1, label="θ₀⁽²⁾")
    z1 = t1 * x + t01
    z1.label = "z⁽¹⁾"
    a1 = z1.sigmoid()
    a1.label = "a⁽¹⁾"
    z2 = t2 * a1 + t02
    z2.label = "z⁽²⁾"
    y_hat = z2.sigmoid()
    y_hat.label = "ŷ"
    loss = 0.5 * (y - y_hat) ** 2
    loss.label = "ε"
    return loss
