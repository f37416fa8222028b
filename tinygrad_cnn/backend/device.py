"""Device names: ``"cpu"`` and ``"cuda:N"``."""
from __future__ import annotations

# device types that have a backend ("cpu", "cuda", and any registered with register_backend)
KNOWN_TYPES = {"cpu", "cuda"}


class Device(str):
    """A device name that is also a plain string, so ``t.device == "cpu"`` just works.

    ``"cuda"`` is normalised to ``"cuda:0"``.
    """

    __slots__ = ()

    def __new__(cls, spec="cpu", index=None):
        if isinstance(spec, Device) and index is None:
            return spec
        if isinstance(spec, int) and not isinstance(spec, bool):
            spec = f"cuda:{spec}"  # torch.device(0) is the first GPU
        if index is not None:
            if not isinstance(index, int) or index < 0 or ":" in str(spec):
                raise ValueError(f"device: invalid index {index!r} for {spec!r}")
            spec = f"{spec}:{index}"
        if not isinstance(spec, str):
            raise TypeError(f"device must be a string like 'cpu' or 'cuda:0', got {spec!r}")
        s = spec.strip().lower()
        if s == "cpu":
            return str.__new__(cls, "cpu")
        kind, _, index = s.partition(":")
        if kind in KNOWN_TYPES and kind != "cpu" and (not index or index.isdigit()):
            return str.__new__(cls, f"{kind}:{int(index) if index else 0}")
        others = "', '".join(sorted(KNOWN_TYPES - {"cpu", "cuda"}))
        raise ValueError(f"unknown device {spec!r}: expected 'cpu', 'cuda' or 'cuda:N'"
                         + (f" (or '{others}')" if others else ""))

    @property
    def type(self) -> str:
        return self.partition(":")[0]

    @property
    def index(self):
        return None if self == "cpu" else int(self.partition(":")[2])

    def __repr__(self):
        return f"device({str.__repr__(self)})"


def parse_device(spec) -> Device:
    return Device(spec)
