"""The book's networks, built by name from one registry.

Every model is a keyword-only builder registered under a short name, as in
torchvision and timm; each returns an ``nn.Module`` that maps
``(N, C, H, W)`` images to ``(N, num_classes)`` logits and carries its
expected one-image shape as ``model.input_size``::

    from cnnlib.models import create_model, list_models, summary, count_macs, profile

    list_models()                       # ['alexnet', 'alexnet_2012', 'cifar_plain20', ...]
    net = create_model("lenet5")        # 1 x 28 x 28 digits -> 10 logits
    print(summary(net))                 # layer table: output shapes, 61,706 parameters
    mlp = create_model("mlp", input_size=8, hidden_features=(64,))

    cfg = ClassicCNNConfig(stages=((16,), (32,)), fc_features=(64,))   # N=1, M=2, K=1
    cnn = create_model("classic_cnn", config=cfg)

    with torch.device("meta"):          # shapes only: count a 138M-parameter VGG without allocating it
        vgg = create_model("vgg16")     # (or: vgg = meta_model("vgg16"))
    count_macs(vgg)                     # 15,470,264,320 multiply-adds per 224 px image
    print(profile(vgg))                 # per layer: output shape, parameters, multiply-adds

    lite = create_model("efficientnet_lite0", weights="DEFAULT")   # real ImageNet weights, offline
    list_models(pretrained=True)        # the models whose weights are on this machine

The ImageNet families, one file each: ``alexnet`` (torchvision's and the
2012 original), ``zfnet``, ``vgg``, ``googlenet``, ``resnet`` (and ResNeXt),
``cifar_resnet`` (ResNet-20/32/56 and their plain twins), ``densenet``,
``mobilenet_v1``/``_v2``/``_v3``, ``efficientnet`` (B0-B7 and the
compound-scaling rule), ``efficientnet_lite`` and ``convnext``. Every one
that torchvision also has uses its parameter names, so torchvision's
``state_dict`` loads with ``strict=True``.

Unknown names raise :class:`UnknownModelError` listing the registered ones;
unknown or contradicting arguments raise ``TypeError`` / ``ValueError``
saying which. To add a model, decorate a keyword-only builder with
:func:`register_model`.
"""
from cnnlib.models import (  # noqa: F401  (importing a family registers its builders)
    alexnet,
    cifar_resnet,
    convnext,
    densenet,
    efficientnet,
    efficientnet_lite,
    googlenet,
    mobilenet_v1,
    mobilenet_v2,
    mobilenet_v3,
    resnet,
    vgg,
    zfnet,
)
from cnnlib.models.keras_cnn import KerasCNN, keras_cnn
from cnnlib.models.lenet import LeNet5, lenet5
from cnnlib.models.mlp import MLP, mlp
from cnnlib.models.registry import (
    ModelSpec,
    UnknownModelError,
    create_model,
    get_model_spec,
    list_models,
    meta_model,
    register_model,
)
from cnnlib.models.simple_cnn import SimpleCNN, simple_cnn
from cnnlib.models.profile import LayerProfile, ModelProfile, count_macs, profile
from cnnlib.models.summary import count_parameters, summary
from cnnlib.models.weights import Weights, get_weights, list_weights
from cnnlib.models.template import ClassicCNN, ClassicCNNConfig, classic_cnn

__all__ = [
    "ClassicCNN",
    "ClassicCNNConfig",
    "KerasCNN",
    "LayerProfile",
    "LeNet5",
    "MLP",
    "ModelProfile",
    "ModelSpec",
    "SimpleCNN",
    "UnknownModelError",
    "Weights",
    "classic_cnn",
    "count_macs",
    "count_parameters",
    "create_model",
    "get_model_spec",
    "get_weights",
    "keras_cnn",
    "lenet5",
    "list_models",
    "list_weights",
    "meta_model",
    "mlp",
    "profile",
    "register_model",
    "simple_cnn",
    "summary",
]
