"""``tinygrad_cnn.backends``: the flags scripts set on ``torch.backends`` (see ``cudnn``)."""
from . import cudnn

__all__ = ["cudnn"]
