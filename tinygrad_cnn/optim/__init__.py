"""``tinygrad_cnn.optim``: PyTorch's optimisers and learning-rate schedules."""
from . import lr_scheduler
from .algorithms import SGD, Adadelta, Adagrad, Adam, AdamW, RMSprop
from .optimizer import Optimizer

__all__ = ["SGD", "Adadelta", "Adagrad", "Adam", "AdamW", "Optimizer", "RMSprop",
           "lr_scheduler"]

# --- longtail ---
from .adam_variants import NAdam, RAdam, Adamax  # noqa: E402

__all__ += ["Adamax", "NAdam", "RAdam"]
