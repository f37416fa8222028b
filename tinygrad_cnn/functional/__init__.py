"""``tinygrad_cnn.functional`` (import as ``F``): torch.nn.functional's signatures."""
from .pool import (adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_max_pool2d, avg_pool1d,
                   avg_pool2d, avg_pool3d, max_pool1d, max_pool2d, max_pool3d, max_unpool2d)
from .activation import (elu, gelu, leaky_relu, linear, log_softmax, relu, sigmoid, softmax,
                         tanh)
from .loss import (binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy,
                   l1_loss, mse_loss, nll_loss)
from .norm import batch_norm, dropout, dropout2d, group_norm, instance_norm, layer_norm
from .resample import downsample, interpolate, pad, upsample
from .conv import (conv1d, conv2d, conv3d, conv_transpose1d, conv_transpose2d,
                   conv_transpose3d)

__all__ = ["group_norm", "instance_norm", "layer_norm", "conv1d", "conv2d", "conv3d",
           "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "max_pool1d", "max_pool2d",
           "max_pool3d", "max_unpool2d",
           "avg_pool1d", "avg_pool2d", "avg_pool3d", "adaptive_avg_pool1d",
           "adaptive_avg_pool2d", "adaptive_max_pool2d", "upsample", "downsample",
           "interpolate", "pad", "linear", "relu", "leaky_relu", "elu", "gelu", "sigmoid",
           "tanh", "softmax", "log_softmax", "dropout", "dropout2d", "batch_norm",
           "cross_entropy", "nll_loss", "mse_loss", "l1_loss", "binary_cross_entropy",
           "binary_cross_entropy_with_logits"]

# --- numerics ---
from .activation import (hardsigmoid, hardswish, hardtanh, mish, relu6, silu,
                         softplus)
from .loss import one_hot

__all__ += ["relu6", "hardtanh", "hardsigmoid", "hardswish", "silu", "mish", "softplus",
            "one_hot"]
# --- cnnops ---
from .resample import pixel_shuffle, pixel_unshuffle  # noqa: E402

__all__ += ["pixel_shuffle", "pixel_unshuffle"]
# --- longtail ---
from .distance import cosine_similarity, normalize, pairwise_distance  # noqa: E402
from .dropout import alpha_dropout, dropout1d, dropout3d  # noqa: E402
from .embedding import embedding  # noqa: E402
from .im2col import fold, unfold  # noqa: E402
from .local_response import local_response_norm  # noqa: E402
from .loss_margin import (cosine_embedding_loss, margin_ranking_loss,  # noqa: E402
                          triplet_margin_loss)
from .loss_regression import huber_loss, kl_div, smooth_l1_loss  # noqa: E402
from .nonlinear import (celu, glu, logsigmoid, prelu, selu, softmin, softsign,  # noqa: E402
                        tanhshrink, threshold)

__all__ += ["cosine_similarity", "normalize", "pairwise_distance", "alpha_dropout",
            "dropout1d", "dropout3d", "embedding", "fold", "unfold", "local_response_norm",
            "cosine_embedding_loss", "margin_ranking_loss", "triplet_margin_loss",
            "huber_loss", "kl_div", "smooth_l1_loss", "celu", "glu", "logsigmoid", "prelu",
            "selu", "softmin", "softsign", "tanhshrink", "threshold"]
from .mixing import bilinear, channel_shuffle  # noqa: E402

__all__ += ["bilinear", "channel_shuffle"]
