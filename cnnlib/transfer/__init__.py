"""Transfer learning: reuse a pretrained CNN for a new task.

Split any supported model into backbone and head (timm's
``forward_features`` / ``forward_head`` / ``reset_classifier``), freeze
stages, give the backbone smaller learning rates, cache frozen features and
compare the ways of training::

    from cnnlib.transfer import (FeatureCache, freeze, param_groups, preprocess,
                                 pretrained_backbone, stage_names)

    model = pretrained_backbone("mobilenet_v2", num_classes=5)   # ImageNet weights, new 5-class head
    stage_names(model)              # ['stem', 'stage1', ..., 'stage7', 'conv_head', 'head']
    freeze(model)                   # everything but the head; batch norm pinned in eval mode
    x = preprocess(images, model.weights, size=64, grayscale="repeat")   # mean/std from the weights
    feats = FeatureCache().features(model, images, size=64, grayscale="repeat")  # (N, 1280), once
    unfreeze(model, ["stage7", "conv_head"])
    optimizer = torch.optim.AdamW(param_groups(model, lr=1e-3, backbone_lr=1e-4))

Errors say what to do: a model without pretrained weights here
(:class:`NoPretrainedWeightsError`), a head for 0 classes, an unknown stage
(:class:`UnknownStageError`, listing the stages), grayscale images into an
RGB backbone (:class:`ChannelMismatchError`, offering the conversion).
"""
from cnnlib.transfer.backbone import pretrained_backbone
from cnnlib.transfer.bn import feature_drift, recalibrate_batchnorm
from cnnlib.transfer.cache import FeatureCache, extract_features, feature_key
from cnnlib.transfer.errors import (
    ChannelMismatchError,
    NoPretrainedWeightsError,
    UnknownStageError,
    UnsupportedModelError,
)
from cnnlib.transfer.freeze import BN_MODES, freeze, frozen_stages, is_bn_pinned, trainable_summary, unfreeze
from cnnlib.transfer.groups import param_groups
from cnnlib.transfer.preprocess import preprocess, to_rgb
from cnnlib.transfer.projection import pca_2d
from cnnlib.transfer.regimes import REGIMES, RegimeResult, balanced_subset, frozen_model, run_regime, train_linear_head
from cnnlib.transfer.split import (
    Split,
    forward_features,
    forward_head,
    get_split,
    head_module,
    num_features,
    reset_classifier,
    stage_modules,
    stage_names,
)

__all__ = [
    "BN_MODES",
    "REGIMES",
    "ChannelMismatchError",
    "FeatureCache",
    "NoPretrainedWeightsError",
    "RegimeResult",
    "Split",
    "UnknownStageError",
    "UnsupportedModelError",
    "balanced_subset",
    "extract_features",
    "feature_drift",
    "feature_key",
    "forward_features",
    "forward_head",
    "freeze",
    "frozen_model",
    "frozen_stages",
    "get_split",
    "head_module",
    "is_bn_pinned",
    "num_features",
    "param_groups",
    "pca_2d",
    "preprocess",
    "pretrained_backbone",
    "recalibrate_batchnorm",
    "reset_classifier",
    "run_regime",
    "stage_modules",
    "stage_names",
    "to_rgb",
    "trainable_summary",
    "train_linear_head",
    "unfreeze",
]
