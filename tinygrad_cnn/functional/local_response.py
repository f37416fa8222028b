"""``F.local_response_norm``: AlexNet's LRN across channels, PyTorch's form
``y = x / (k + alpha / size · Σ x²)^beta`` where the sum runs over ``size`` neighbouring
channels (zero-padded: ``size // 2`` before, ``(size - 1) // 2`` after), i.e. an average of
``x²`` over the window, as PyTorch's avg_pool with the padding counted."""
from __future__ import annotations

from ..errors import OpValueError
from ..ops import shape as _sh
from .activation import _number, tensor_arg
from .resample import pad


def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):
    """(n, c, *) -> (n, c, *): each value divided by ``(k + alpha · mean of x² over the
    channel window)^beta``."""
    tensor_arg("local_response_norm", input)
    if input.ndim < 3:
        raise OpValueError(f"F.local_response_norm: expected 3D or higher dimensionality input "
                           f"(got {input.ndim} dimensions, shape {input.shape})")
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise OpValueError(f"F.local_response_norm: size must be a positive int, got {size!r}")
    alpha, beta, k = (_number("local_response_norm", n, v)
                      for n, v in (("alpha", alpha), ("beta", beta), ("k", k)))
    c = input.shape[1]
    sq = input * input
    flat = _sh.reshape(sq, (input.shape[0], c, -1))          # (n, c, rest)
    padded = pad(flat, (0, 0, size // 2, (size - 1) // 2))  # channels padded with zeros
    # one shifted slice per window offset (a loop over `size`, not over elements)
    total = padded[:, 0:c]
    for j in range(1, size):
        total = total + padded[:, j:j + c]
    div = _sh.reshape(total, input.shape) * (alpha / size) + k
    return input / div ** beta
