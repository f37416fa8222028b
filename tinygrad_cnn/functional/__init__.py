"""``tinygrad_cnn.functional`` (import as ``F``): torch.nn.functional's signatures."""
from .pool import (adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_max_pool2d, avg_pool1d,
                   avg_pool2d, avg_pool3d, max_pool1d, max_pool2d, max_pool3d, max_unpool2d)
from .resample import downsample, interpolate, pad, upsample
from .conv import (conv1d, conv2d, conv3d, conv_transpose1d, conv_transpose2d,
                   conv_transpose3d)

__all__ = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d", "max_pool1d", "max_pool2d", "max_pool3d", "max_unpool2d",
           "avg_pool1d", "avg_pool2d", "avg_pool3d", "adaptive_avg_pool1d",
           "adaptive_avg_pool2d", "adaptive_max_pool2d", "upsample", "downsample",
           "interpolate", "pad"]
