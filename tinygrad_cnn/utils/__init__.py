"""``tinygrad_cnn.utils``: ``tinygrad_cnn.utils.data`` is ``tinygrad_cnn.data`` (the same
module object), so ``from torch.utils.data import DataLoader`` ports by renaming the package."""
import sys as _sys

from .. import data

_sys.modules[__name__ + ".data"] = data

__all__ = ["data"]
