"""The result of one check: a verdict, the measured figure, the expected one and what to do.

>>> result = CheckResult("loss at init", PASS, "2.31", "ln(10) = 2.30 +- 15%")
>>> worst([PASS, WARN])
'warn'
"""

from dataclasses import asdict, dataclass, field

PASS, WARN, FAIL = "pass", "warn", "fail"
_RANK = {PASS: 0, WARN: 1, FAIL: 2}


@dataclass
class CheckResult:
    name: str  # what was checked, e.g. "gradient check"
    verdict: str  # pass | warn | fail
    measured: str  # the figure found, as text
    expected: str  # the figure a healthy network gives
    advice: str = ""  # what to do when it is not a pass
    details: list[dict] = field(default_factory=list)  # per-layer or per-tensor rows behind the figure
    note: str = ""  # what a reader should know even on a pass (e.g. why a gradient is zero)

    def to_dict(self) -> dict:
        return asdict(self)


def worst(verdicts) -> str:
    """The most severe verdict of ``verdicts`` (pass when empty)."""
    return max(verdicts, key=_RANK.__getitem__, default=PASS)


def grade(value: float, warn_above: float, fail_above: float) -> str:
    """pass below ``warn_above``, warn up to ``fail_above``, fail above it (and for NaN)."""
    if not value <= fail_above:  # also catches NaN
        return FAIL
    return WARN if value > warn_above else PASS


def failed(results: list[CheckResult]) -> bool:
    return any(result.verdict == FAIL for result in results)
