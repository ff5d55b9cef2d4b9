"""Chapter 8 exercises: the reference solutions pass and agree with the real blocks; the given mistakes fail."""
import numpy as np
import pytest
import torch
from torch import nn

from exercise_helpers import as_student, hidden_results
from cnnlib.grading.feedback import run_visible
from cnnlib.grading.registry import get_exercise, list_exercises
from cnnlib.models import count_parameters
from cnnlib.models.densenet import DenseBlock
from cnnlib.models.resnet import BasicBlock, Bottleneck


def test_chapter_8_has_at_least_four_exercises_with_hidden_checks_two_of_them_understanding():
    exercises = list_exercises(8)
    assert len(exercises) >= 4
    assert all(e.hidden is not None and e.hidden(np.random.default_rng(0)) for e in exercises)
    assert sum(e.kind in ("predict", "choose", "diagnose") for e in exercises) >= 2


@pytest.mark.parametrize("exercise_id", ["8.1", "8.2", "8.3", "8.4"])
@pytest.mark.parametrize("seed", [11, 12])
def test_reference_solutions_pass_visible_and_hidden(exercise_id, seed):
    exercise, fn = as_student(exercise_id)
    report = run_visible(exercise, fn)
    assert report.results and all(r.passed for r in report.results), str(report)
    assert all(r.passed for r in hidden_results(exercise, fn, seed))


def test_dense_block_matches_a_plain_densenet_style_stack():
    _, fn = as_student("8.1")
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, 6, 6, generator=g)
    convs = [nn.Conv2d(3 + 2 * i, 2, 3, padding=1, bias=False) for i in range(3)]
    maps = [x]
    for conv in convs:
        maps.append(torch.relu(conv(torch.cat(maps, 1))))
    expected = torch.cat(maps, 1)
    torch.testing.assert_close(fn(x, [c.weight.detach() for c in convs]), expected.detach())
    # the channel count follows DenseNet's: C + L k
    block = DenseBlock(3, 3, 2)
    assert block(x).shape == expected.shape


def _needs_projection(block: nn.Module) -> str:
    if block.downsample is None:
        return "identity"
    return f"1x1 conv, stride {block.downsample[0].stride[0]}"


def test_shortcut_answers_match_the_resnet_blocks():
    exercise, fn = as_student("8.2")
    for case in exercise.cases(hidden_seed=5):
        in_channels, planes, stride, kind = case.args
        with torch.device("meta"):
            block = (BasicBlock if kind == "basic" else Bottleneck)(in_channels, planes, stride)
        assert fn(*case.args) == _needs_projection(block)
        assert fn(*case.args) in exercise.choices


def test_bottleneck_prediction_counts_the_real_block():
    exercise, fn = as_student("8.3")
    for case in exercise.cases(hidden_seed=7):
        with torch.device("meta"):
            a = case.args + (1, 64)[len(case.args) - 3:]
            block = Bottleneck(a[0], a[1], a[2], groups=a[3], width_per_group=a[4])
        assert fn(*case.args) == count_parameters(block)
    assert fn(64, 64, 1) == 75_008  # ResNet-50's first block, a well-known count


def test_diagnose_fix_passes_the_input_and_the_buggy_version_fails():
    exercise, fn = as_student("8.4")
    x = torch.randn(2, 3, 5, 5)
    w1 = torch.randn(3, 3, 3, 3)
    torch.testing.assert_close(fn(x, w1, torch.zeros(3, 3, 3, 3)), torch.relu(x))
    report = run_visible(exercise, exercise.buggy)
    assert not all(r.passed for r in report.results)
    assert not all(r.passed for r in hidden_results(exercise, exercise.buggy, 11))


@pytest.mark.parametrize("exercise_id, wrong", [
    ("8.1", lambda x, weights: x),
    ("8.2", lambda in_channels, planes, stride, block: "identity" if stride == 1 else "1x1 conv, stride 2"),
    ("8.3", lambda in_channels, planes, stride, groups=1, width_per_group=64:
        in_channels * planes + 9 * planes * planes + 4 * planes * planes),
    ("8.4", lambda x, w1, w2: torch.relu(torch.nn.functional.conv2d(
        torch.relu(torch.nn.functional.conv2d(x, w1, padding=1)), w2, padding=1))),
])
def test_common_mistakes_fail(exercise_id, wrong):
    exercise = get_exercise(exercise_id)
    report = run_visible(exercise, wrong)
    assert not all(r.passed for r in report.results), str(report)
