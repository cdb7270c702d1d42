"""How measured numbers are written, everywhere: notes, facts for the writer, tables, claims.

Four significant digits for a lone value; a stderr to two, and its mean to the stderr's last decimal, so a
table never shows digits the seeds cannot support. A change against the baseline is an absolute difference,
with a percent only where one means something.
"""

import math


def fmt(value: float) -> str:
    """Four significant digits, without an exponent for ordinary magnitudes."""
    text = f"{value:.4g}"
    return f"{float(text):.6f}".rstrip("0").rstrip(".") if "e" in text and abs(value) >= 1e-3 else text


def fmt_mean(mean: float, stderr: float | None = None) -> tuple[str, str | None]:
    """(mean, stderr) as shown: the stderr to two significant digits and the mean to the same decimal."""
    if stderr is None or not math.isfinite(stderr) or stderr <= 0:
        return fmt(mean), (None if stderr is None else fmt(stderr))
    decimals = 1 - math.floor(math.log10(stderr))
    if decimals < 0 or decimals > 8 or abs(mean) >= 1e6:
        return fmt(mean), f"{stderr:.2g}"
    return f"{mean:.{decimals}f}", f"{stderr:.{decimals}f}"


def with_stderr(mean: float, stderr: float | None = None) -> str:
    shown, err = fmt_mean(mean, stderr)
    return shown + (f" ± {err}" if err is not None else "")


def percent_change(value: float, ref: float, ref_stderr: float | None = None) -> float | None:
    """The relative change, only where it means something: positive values, a baseline clear of zero
    (beyond twice its stderr), and a change smaller than the baseline itself."""
    clear_of_zero = ref > 0 and (ref_stderr is None or ref > 2 * ref_stderr)
    if clear_of_zero and value > 0 and abs(value - ref) < ref:
        return 100 * (value - ref) / ref
    return None


def change(value: float, ref: float, ref_stderr: float | None = None) -> str:
    """`-0.0049, -32.2%`: the difference, and the percent where it means something."""
    text = f"{value - ref:+.4g}"
    percent = percent_change(value, ref, ref_stderr)
    return text + (f", {percent:+.1f}%" if percent is not None else "")
