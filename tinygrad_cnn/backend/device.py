"""Device names: ``"cpu"`` and ``"cuda:N"``."""
from __future__ import annotations


class Device(str):
    """A device name that is also a plain string, so ``t.device == "cpu"`` just works.

    ``"cuda"`` is normalised to ``"cuda:0"``.
    """

    __slots__ = ()

    def __new__(cls, spec="cpu"):
        if isinstance(spec, Device):
            return spec
        if not isinstance(spec, str):
            raise TypeError(f"device must be a string like 'cpu' or 'cuda:0', got {spec!r}")
        s = spec.strip().lower()
        if s == "cpu":
            return str.__new__(cls, "cpu")
        if s == "cuda":
            return str.__new__(cls, "cuda:0")
        if s.startswith("cuda:") and s[5:].isdigit():
            return str.__new__(cls, f"cuda:{int(s[5:])}")
        raise ValueError(f"unknown device {spec!r}: expected 'cpu', 'cuda' or 'cuda:N'")

    @property
    def type(self) -> str:
        return "cpu" if self == "cpu" else "cuda"

    @property
    def index(self):
        return None if self == "cpu" else int(self[5:])

    def __repr__(self):
        return f"device({str.__repr__(self)})"


def parse_device(spec) -> Device:
    return Device(spec)
