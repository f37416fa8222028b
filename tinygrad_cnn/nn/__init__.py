"""``tinygrad_cnn.nn``: modules, layers and losses with PyTorch's constructors."""
from . import init
from .conv import (AdaptiveAvgPool2d, AvgPool2d, BatchNorm1d, BatchNorm2d, Conv1d, Conv2d,
                   Conv3d, ConvTranspose2d, Downsample, MaxPool2d, Upsample)
from .layers import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, Dropout, Dropout2d, ELU,
                     GELU, Flatten, Identity, L1Loss, LeakyReLU, Linear, LogSoftmax, MSELoss,
                     NLLLoss, ReLU, Sigmoid, Softmax, Tanh)
from .module import Module, ModuleList, Parameter, Sequential

__all__ = ["Module", "Parameter", "Sequential", "ModuleList", "init", "Linear", "Conv1d",
           "Conv2d", "Conv3d", "ConvTranspose2d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d",
           "Upsample", "Downsample", "Flatten", "ReLU", "LeakyReLU", "ELU", "GELU", "Sigmoid",
           "Tanh", "Softmax", "LogSoftmax", "Dropout", "Dropout2d", "BatchNorm1d",
           "BatchNorm2d", "Identity", "CrossEntropyLoss", "NLLLoss", "MSELoss", "L1Loss",
           "BCELoss", "BCEWithLogitsLoss"]
