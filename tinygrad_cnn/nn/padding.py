"""Padding layers (F.pad as modules): ZeroPad, ConstantPad, ReflectionPad and
ReplicationPad in 1, 2 and 3 dims, and CircularPad, with PyTorch's argument forms (an int
pads every side; a tuple lists (before, after) starting from the last dim)."""
from __future__ import annotations

import numbers

from .. import functional as F
from .module import Module


class _PadNd(Module):
    _nd = 2
    _mode = "constant"

    def __init__(self, padding, value=0.0):
        super().__init__()
        name = type(self).__name__
        if isinstance(padding, numbers.Integral) and not isinstance(padding, bool):
            padding = (int(padding),) * (2 * self._nd)
        if not isinstance(padding, (tuple, list)) or len(padding) != 2 * self._nd:
            raise ValueError(f"{name}: padding must be an int or a {2 * self._nd}-tuple, got "
                             f"{padding!r}")
        self.padding, self.value = tuple(padding), value

    def forward(self, x):
        if self._mode == "constant":
            return F.pad(x, self.padding, "constant", self.value)
        return F.pad(x, self.padding, self._mode)

    def extra_repr(self):
        return f"{self.padding}" + (f", value={self.value}" if self._mode == "constant" else "")


def _make(name, nd, mode, doc):
    attrs = {"_nd": nd, "_mode": mode, "__doc__": doc, "__module__": __name__}
    if mode != "constant":
        attrs["__init__"] = lambda self, padding: _PadNd.__init__(self, padding)
    elif name.startswith("Zero"):
        attrs["__init__"] = lambda self, padding: _PadNd.__init__(self, padding, 0.0)
    return type(name, (_PadNd,), attrs)


ConstantPad1d = _make("ConstantPad1d", 1, "constant", "Pad the last dim with ``value``.")
ConstantPad2d = _make("ConstantPad2d", 2, "constant", "Pad the last 2 dims with ``value``.")
ConstantPad3d = _make("ConstantPad3d", 3, "constant", "Pad the last 3 dims with ``value``.")
ZeroPad1d = _make("ZeroPad1d", 1, "constant", "Pad the last dim with zeros.")
ZeroPad2d = _make("ZeroPad2d", 2, "constant", "Pad the last 2 dims with zeros.")
ZeroPad3d = _make("ZeroPad3d", 3, "constant", "Pad the last 3 dims with zeros.")
ReflectionPad1d = _make("ReflectionPad1d", 1, "reflect", "Mirror the last dim (no edge "
                        "repeat).")
ReflectionPad2d = _make("ReflectionPad2d", 2, "reflect", "Mirror the last 2 dims.")
ReflectionPad3d = _make("ReflectionPad3d", 3, "reflect", "Mirror the last 3 dims.")
ReplicationPad1d = _make("ReplicationPad1d", 1, "replicate", "Repeat the edge of the last dim.")
ReplicationPad2d = _make("ReplicationPad2d", 2, "replicate", "Repeat the edges of the last 2 "
                         "dims.")
ReplicationPad3d = _make("ReplicationPad3d", 3, "replicate", "Repeat the edges of the last 3 "
                         "dims.")
CircularPad1d = _make("CircularPad1d", 1, "circular", "Wrap the last dim around.")
CircularPad2d = _make("CircularPad2d", 2, "circular", "Wrap the last 2 dims around.")
CircularPad3d = _make("CircularPad3d", 3, "circular", "Wrap the last 3 dims around.")

__all__ = [n for n in dir() if n.endswith(("Pad1d", "Pad2d", "Pad3d"))]
