"""``tinygrad_cnn.nn``: modules, layers and losses with PyTorch's constructors, plus
``nn.init``, ``nn.utils``, ``nn.parallel`` and ``nn.functional`` (the same module as
``tinygrad_cnn.functional``)."""
from .. import functional
from . import init, parallel, utils
from .activation import (ELU, GELU, Hardsigmoid, Hardswish, Hardtanh, LeakyReLU, LogSoftmax, Mish,
                         PReLU, ReLU, ReLU6, Sigmoid, SiLU, Softmax, Softplus, Tanh)
from .containers import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from .conv import (AdaptiveAvgPool1d, AdaptiveAvgPool2d, AdaptiveMaxPool2d, AvgPool1d, AvgPool2d,
                   AvgPool3d, Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d,
                   ConvTranspose3d, Downsample, MaxPool1d, MaxPool2d, MaxPool3d, Upsample)
from .layers import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, Dropout, Dropout2d, Embedding,
                     Flatten, Identity, L1Loss, Linear, MSELoss, NLLLoss, PixelShuffle,
                     PixelUnshuffle, Unflatten)
from .module import Module, Parameter
from .norm import (BatchNorm1d, BatchNorm2d, BatchNorm3d, GroupNorm, InstanceNorm1d,
                   InstanceNorm2d, InstanceNorm3d, LayerNorm)
from .padding import (CircularPad1d, CircularPad2d, CircularPad3d, ConstantPad1d, ConstantPad2d,
                      ConstantPad3d, ReflectionPad1d, ReflectionPad2d, ReflectionPad3d,
                      ReplicationPad1d, ReplicationPad2d, ReplicationPad3d, ZeroPad1d, ZeroPad2d,
                      ZeroPad3d)

__all__ = ["ELU", "GELU", "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveMaxPool2d",
           "AvgPool1d", "AvgPool2d", "AvgPool3d", "BCELoss", "BCEWithLogitsLoss", "BatchNorm1d",
           "BatchNorm2d", "BatchNorm3d", "CircularPad1d", "CircularPad2d", "CircularPad3d",
           "ConstantPad1d", "ConstantPad2d", "ConstantPad3d", "Conv1d", "Conv2d", "Conv3d",
           "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d", "CrossEntropyLoss",
           "Downsample", "Dropout", "Dropout2d", "Embedding", "Flatten", "GroupNorm",
           "Hardsigmoid", "Hardswish", "Hardtanh", "Identity", "InstanceNorm1d", "InstanceNorm2d",
           "InstanceNorm3d", "L1Loss", "LayerNorm", "LeakyReLU", "Linear", "LogSoftmax", "MSELoss",
           "MaxPool1d", "MaxPool2d", "MaxPool3d", "Mish", "Module", "ModuleDict", "ModuleList",
           "NLLLoss", "PReLU", "Parameter", "ParameterDict", "ParameterList", "PixelShuffle",
           "PixelUnshuffle", "ReLU", "ReLU6", "ReflectionPad1d", "ReflectionPad2d",
           "ReflectionPad3d", "ReplicationPad1d", "ReplicationPad2d", "ReplicationPad3d",
           "Sequential", "SiLU", "Sigmoid", "Softmax", "Softplus", "Tanh", "Unflatten", "Upsample",
           "ZeroPad1d", "ZeroPad2d", "ZeroPad3d", "functional", "init", "parallel", "utils"]

# --- longtail ---
from .distance_loss import (CosineEmbeddingLoss, CosineSimilarity, HuberLoss,  # noqa: E402
                            KLDivLoss, MarginRankingLoss, PairwiseDistance, SmoothL1Loss,
                            TripletMarginLoss)
from .nonlinear import (CELU, GLU, SELU, LogSigmoid, Softmin, Softsign,  # noqa: E402
                        Tanhshrink, Threshold)
from .structural import (AlphaDropout, Bilinear, ChannelShuffle, Dropout1d,  # noqa: E402
                         Dropout3d, Fold, LocalResponseNorm, Unfold, UpsamplingBilinear2d,
                         UpsamplingNearest2d)

__all__ += ["CosineEmbeddingLoss", "CosineSimilarity", "HuberLoss", "KLDivLoss",
            "MarginRankingLoss", "PairwiseDistance", "SmoothL1Loss", "TripletMarginLoss",
            "CELU", "GLU", "SELU", "LogSigmoid", "Softmin", "Softsign", "Tanhshrink",
            "Threshold", "AlphaDropout", "Bilinear", "ChannelShuffle", "Dropout1d",
            "Dropout3d", "Fold", "LocalResponseNorm", "Unfold", "UpsamplingBilinear2d",
            "UpsamplingNearest2d"]
