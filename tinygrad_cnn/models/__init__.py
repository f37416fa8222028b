"""``tinygrad_cnn.models``: PyTorch model code (torchvision and the PyTorch examples) that runs
here by changing its imports. One module per family, as in ``torchvision.models``:

    from tinygrad_cnn.models import resnet18
    model = resnet18(num_classes=10)

Each family is imported when first asked for, so a layer that one family needs and the package
lacks makes only that family fail (with the AttributeError naming the layer).
"""
import importlib

FAMILIES = ("lenet", "alexnet", "vgg", "resnet", "mobilenet", "squeezenet", "densenet", "unet",
            "dcgan", "superres", "style_transfer")

# constructor name -> family module
_EXPORTS = {
    "Net": "lenet", "LeNet5": "lenet",
    "AlexNet": "alexnet", "alexnet": "alexnet",
    "VGG": "vgg", "make_layers": "vgg", "vgg11": "vgg", "vgg11_bn": "vgg", "vgg16": "vgg",
    "vgg16_bn": "vgg",
    "ResNet": "resnet", "BasicBlock": "resnet", "Bottleneck": "resnet", "resnet18": "resnet",
    "resnet34": "resnet", "resnet50": "resnet", "resnext50_32x4d": "resnet",
    "MobileNetV2": "mobilenet", "MobileNetV3": "mobilenet", "mobilenet_v2": "mobilenet",
    "mobilenet_v3_small": "mobilenet",
    "SqueezeNet": "squeezenet", "squeezenet1_0": "squeezenet", "squeezenet1_1": "squeezenet",
    "DenseNet": "densenet", "densenet121": "densenet", "densenet_small": "densenet",
    "UNet": "unet",
    "Generator": "dcgan", "Discriminator": "dcgan", "DCGAN": "dcgan", "weights_init": "dcgan",
    "TransformerNet": "style_transfer",
}


def __getattr__(name):
    if name in FAMILIES:
        return importlib.import_module(f"{__name__}.{name}")
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(FAMILIES) | set(_EXPORTS))


__all__ = list(FAMILIES) + list(_EXPORTS)
