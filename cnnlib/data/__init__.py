"""Real data, offline first: photos, digits, an MNIST subset, Fashion-MNIST and pretrained weights.

Every loader says plainly what is missing and how to get it when it cannot
find or download its data.
"""
from cnnlib.data.digits import load_digits
from cnnlib.data.fashion_mnist import FASHION_MNIST_CLASSES, find_fashion_mnist, load_fashion_mnist
from cnnlib.data.mnist_subset import find_mnist_subset, load_mnist_subset
from cnnlib.data.images import sample_image, sample_image_names
from cnnlib.data.loaders import (
    DIGIT_CLASSES,
    DataLoaders,
    ImageDataset,
    UnknownDatasetError,
    augmentation,
    digits_loaders,
    fashion_mnist_loaders,
    get_loaders,
    list_datasets,
    make_loaders,
    mnist_subset_loaders,
    register_dataset,
    stratified_split,
)
from cnnlib.data.pretrained import (
    find_mobilenet_v2_weights,
    imagenet_classes,
    imagenet_transform,
    load_mobilenet_v2,
    verify_weights,
)

__all__ = [
    "DIGIT_CLASSES",
    "DataLoaders",
    "ImageDataset",
    "UnknownDatasetError",
    "augmentation",
    "digits_loaders",
    "fashion_mnist_loaders",
    "get_loaders",
    "list_datasets",
    "make_loaders",
    "mnist_subset_loaders",
    "register_dataset",
    "stratified_split",
    "FASHION_MNIST_CLASSES",
    "find_fashion_mnist",
    "find_mnist_subset",
    "find_mobilenet_v2_weights",
    "imagenet_classes",
    "imagenet_transform",
    "load_digits",
    "load_fashion_mnist",
    "load_mnist_subset",
    "load_mobilenet_v2",
    "sample_image",
    "sample_image_names",
    "verify_weights",
]
