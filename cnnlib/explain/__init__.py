"""What a CNN looks at: every explanation method with one call shape.

Like captum's ``attribute()``, each method takes the model, a batch of images,
the target classes and, where it needs one, the layer, and returns maps::

    from cnnlib import explain
    maps = explain.grad_cam(model, images, target=281, layer=model.features[-1])  # (N, h, w)
    sal = explain.saliency(model, images, target=281)                              # (N, H, W)

| method | returns | needs |
|---|---|---|
| :func:`activation_maps` | ``(N, K, h, w)`` | a layer |
| :func:`first_layer_filters` | ``(K, C, kh, kw)`` | the model only |
| :func:`saliency` | ``(N, H, W)`` | nothing else |
| :func:`cam` | ``(N, h, w)`` | global average pooling + one linear layer after ``layer`` |
| :func:`grad_cam` | ``(N, h, w)`` | any convolutional layer |
| :func:`guided_backprop` | ``(N, C, H, W)`` | ReLU or ReLU6 activations |
| :func:`guided_grad_cam` | ``(N, C, H, W)`` | a layer |
| :func:`occlusion` | ``(N, H, W)`` | window and stride |
| :func:`invert_features` | ``(N, C, H, W)`` images | a layer |

Every hook lives in :func:`explaining`, which removes them in ``finally`` and
restores the model's train/eval mode. Images are normalised as the model
expects; targets are one class index, or one per image.
"""
from cnnlib.explain._common import forward, upsample
from cnnlib.explain._hooks import GUIDED_ACTIVATIONS, Recording, StopForward, explaining
from cnnlib.explain.activations import activation_maps
from cnnlib.explain.cam import CAMNotApplicableError, cam
from cnnlib.explain.filters import first_layer_filters
from cnnlib.explain.grad_cam import grad_cam, grad_cam_from
from cnnlib.explain.guided_backprop import guided_backprop
from cnnlib.explain.guided_grad_cam import guided_grad_cam
from cnnlib.explain.inversion import invert_features, total_variation
from cnnlib.explain.occlusion import occlusion, window_starts
from cnnlib.explain.relu6 import HookableReLU6, hookable_relu6
from cnnlib.explain.saliency import input_gradient, saliency

__all__ = [
    "CAMNotApplicableError",
    "GUIDED_ACTIVATIONS",
    "HookableReLU6",
    "Recording",
    "StopForward",
    "activation_maps",
    "cam",
    "explaining",
    "first_layer_filters",
    "forward",
    "grad_cam",
    "grad_cam_from",
    "guided_backprop",
    "guided_grad_cam",
    "hookable_relu6",
    "input_gradient",
    "invert_features",
    "occlusion",
    "saliency",
    "total_variation",
    "upsample",
    "window_starts",
]
