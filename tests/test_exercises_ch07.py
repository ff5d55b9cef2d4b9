"""Chapter 7 exercises: the reference solutions pass and agree with PyTorch and our models; mistakes fail."""
import inspect
from collections import Counter

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from exercise_helpers import as_student, hidden_results
from cnnlib.grading.exercises.ch07 import ALEXNET_2012
from cnnlib.grading.feedback import run_visible
from cnnlib.grading.registry import get_exercise, list_exercises
from cnnlib.models import create_model
from cnnlib.models.googlenet import Inception
from cnnlib.models.stages import weight_layers
from cnnlib.models.vgg import make_vgg_features


def test_chapter_7_has_at_least_four_exercises_with_hidden_checks_two_of_them_understanding():
    exercises = list_exercises(7)
    assert len(exercises) >= 4
    assert all(e.hidden is not None and e.hidden(np.random.default_rng(0)) for e in exercises)
    assert sum(e.kind in ("predict", "choose", "diagnose") for e in exercises) >= 2


@pytest.mark.parametrize("exercise_id", ["7.1", "7.2", "7.3", "7.4"])
@pytest.mark.parametrize("seed", [11, 12])
def test_reference_solutions_pass_visible_and_hidden(exercise_id, seed):
    exercise, fn = as_student(exercise_id)
    report = run_visible(exercise, fn)
    assert report.results and all(r.passed for r in report.results), str(report)
    assert all(r.passed for r in hidden_results(exercise, fn, seed))


def _reference_top_k_error(logits, targets, k):
    """Counted one image at a time with sorting, the long way."""
    wrong = 0
    for row, t in zip(logits.tolist(), targets.tolist()):
        ranked = sorted(range(len(row)), key=lambda c: -row[c])
        wrong += t not in ranked[:k]
    return wrong / len(targets)


def test_top_k_error_agrees_with_sorting_and_is_monotone_in_k():
    _, fn = as_student("7.1")
    g = torch.Generator().manual_seed(0)
    logits, targets = torch.randn(50, 12, generator=g), torch.randint(0, 12, (50,), generator=g)
    errors = [fn(logits, targets, k) for k in range(1, 13)]
    assert errors == pytest.approx([_reference_top_k_error(logits, targets, k) for k in range(1, 13)])
    assert all(a >= b for a, b in zip(errors, errors[1:])) and errors[-1] == 0.0


def test_vgg_block_params_match_our_vgg_blocks_and_a_wrong_count_fails():
    _, fn = as_student("7.2")
    for c_in, c_out, n, bn in [(3, 64, 2, False), (128, 256, 3, False), (256, 512, 4, True), (16, 8, 1, True)]:
        block = make_vgg_features([c_out] * n + ["M"], batch_norm=bn, in_channels=c_in)
        assert fn(c_in, c_out, n, bn) == sum(p.numel() for p in block.parameters())
    exercise = get_exercise("7.2")

    def forgets_biases(c_in, c_out, n, bn):
        return 9 * c_in * c_out + (n - 1) * 9 * c_out * c_out + (2 * n * c_out if bn else 0)

    assert not all(r.passed for r in run_visible(exercise, forgets_biases).results)


def test_where_is_the_cost_on_alexnet_agrees_with_the_measured_model():
    _, fn = as_student("7.3")
    with torch.device("meta"):
        rows = weight_layers(create_model("alexnet_2012"))
    conv = [r for r in rows if r.kind == "Conv2d"]
    fc = [r for r in rows if r.kind == "Linear"]
    for measure, attr in (("parameters", "params"), ("multiply-adds", "macs")):
        expected = "conv" if sum(getattr(r, attr) for r in conv) > sum(getattr(r, attr) for r in fc) else "fc"
        assert fn((3, 227, 227), ALEXNET_2012, measure) == expected
    assert fn((3, 227, 227), ALEXNET_2012, "parameters") == "fc"
    assert fn((3, 227, 227), ALEXNET_2012, "multiply-adds") == "conv"


def _torch_net(input_shape, layers) -> nn.Sequential:
    mods, c = [], input_shape[0]
    for layer in layers:
        if layer[0] == "conv":
            mods += [nn.Conv2d(c, layer[1], layer[2], stride=layer[3], padding=layer[4]), nn.ReLU()]
            c = layer[1]
        elif layer[0] == "pool":
            mods.append(nn.MaxPool2d(layer[1], layer[2]))
        else:
            if not any(isinstance(m, nn.Flatten) for m in mods):
                mods.append(nn.Flatten())
            mods.append(nn.LazyLinear(layer[1]))
    return nn.Sequential(*mods)


def test_where_is_the_cost_hidden_cases_agree_with_built_networks_and_vary():
    exercise, fn = as_student("7.3")
    answers = Counter()
    for seed in range(4):
        for case in exercise.cases(hidden_seed=seed)[len(exercise.visible()):]:
            shape, layers, measure = case.args
            with torch.device("meta"):
                net = _torch_net(shape, layers)
                net(torch.zeros(1, *shape))  # materialise the lazy layers' shapes
            rows = weight_layers(net, shape)
            attr = "params" if measure == "parameters" else "macs"
            conv = sum(getattr(r, attr) for r in rows if r.kind == "Conv2d")
            full = sum(getattr(r, attr) for r in rows if r.kind == "Linear")
            assert fn(*case.args) == ("conv" if conv > full else "fc")
            answers[fn(*case.args)] += 1
    assert answers["conv"] > 0 and answers["fc"] > 0


def _module_with(weights, c_in):
    c1, c3r, c3, c5r, c5, pp = (weights[n][0].shape[0] for n in
                                ("1x1", "3x3_reduce", "3x3", "5x5_reduce", "5x5", "pool_proj"))
    module = Inception(c_in, c1, c3r, c3, c5r, c5, pp, kernel_5x5=5)
    convs = {"1x1": module.branch1, "3x3_reduce": module.branch2[0], "3x3": module.branch2[1],
             "5x5_reduce": module.branch3[0], "5x5": module.branch3[1], "pool_proj": module.branch4[1]}
    return module, convs


def test_inception_fix_matches_plain_torch_layers_and_the_buggy_version_fails():
    exercise, fn = as_student("7.4")
    g = torch.Generator().manual_seed(3)
    c_in = 6
    spec = {"1x1": (3, c_in, 1), "3x3_reduce": (4, c_in, 1), "3x3": (5, 4, 3), "5x5_reduce": (2, c_in, 1),
            "5x5": (3, 2, 5), "pool_proj": (2, c_in, 1)}
    weights = {n: (torch.randn(o, i, k, k, generator=g), torch.randn(o, generator=g)) for n, (o, i, k) in spec.items()}
    x = torch.randn(2, c_in, 9, 9, generator=g)

    def conv(name, t):
        w, b = weights[name]
        return F.relu(nn.functional.conv2d(t, w, b, padding=w.shape[-1] // 2))

    expected = torch.cat([conv("1x1", x), conv("3x3", conv("3x3_reduce", x)), conv("5x5", conv("5x5_reduce", x)),
                          conv("pool_proj", nn.MaxPool2d(3, 1, 1)(x))], 1)
    torch.testing.assert_close(fn(x, weights), expected)
    assert fn(x, weights).shape == (2, 13, 9, 9)
    namespace = {"torch": torch}
    exec(inspect.getsource(exercise.buggy), namespace)  # as a notebook defines it, outside cnnlib
    buggy = namespace[exercise.buggy.__name__]
    report = run_visible(exercise, buggy)
    assert report.results[0].passed and not all(r.passed for r in report.results), str(report)
    assert not all(r.passed for r in hidden_results(exercise, exercise.buggy, 11))


def test_inception_case_shapes_are_those_of_our_inception_module():
    exercise = get_exercise("7.4")
    for case in exercise.cases(hidden_seed=0):
        x, weights = case.args
        module, convs = _module_with(weights, x.shape[1])
        assert {n: tuple(c.conv.weight.shape) for n, c in convs.items()} == \
            {n: tuple(w.shape) for n, (w, _) in weights.items()}
        with torch.no_grad():
            assert module.eval()(x).shape[1] == sum(w.shape[0] for n, (w, _) in weights.items()
                                                      if not n.endswith("reduce"))


@pytest.mark.parametrize("exercise_id, wrong", [
    ("7.1", lambda logits, targets, k: float((logits.argmax(1) != targets).float().mean())),
    ("7.2", lambda c_in, c_out, n, bn: (9 * c_in + 1) * c_out * n),
    ("7.3", lambda shape, layers, measure: "fc"),
])
def test_common_mistakes_are_reported(exercise_id, wrong):
    report = run_visible(get_exercise(exercise_id), wrong)
    assert not all(r.passed for r in report.results), str(report)
