"""Chapter 4 exercises: the reference solutions pass and agree with PyTorch; the given mistakes fail."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from exercise_helpers import as_student, hidden_results
from cnnlib import arith
from cnnlib.grading.feedback import run_visible
from cnnlib.grading.registry import get_exercise, list_exercises


def test_chapter_4_has_at_least_four_exercises_with_hidden_checks_two_of_them_understanding():
    exercises = list_exercises(4)
    assert len(exercises) >= 4
    assert all(e.hidden is not None and e.hidden(np.random.default_rng(0)) for e in exercises)
    assert sum(e.kind in ("predict", "choose", "diagnose") for e in exercises) >= 2


@pytest.mark.parametrize("exercise_id", ["4.1", "4.2", "4.3", "4.4"])
@pytest.mark.parametrize("seed", [11, 12])
def test_reference_solutions_pass_visible_and_hidden(exercise_id, seed):
    exercise, fn = as_student(exercise_id)
    report = run_visible(exercise, fn)
    assert report.results and all(r.passed for r in report.results), str(report)
    assert all(r.passed for r in hidden_results(exercise, fn, seed))


def test_scatter_agrees_with_torch_on_random_inputs():
    _, fn = as_student("4.1")
    g = torch.Generator().manual_seed(0)
    for h, w, kh, kw, s in [(1, 1, 1, 1, 1), (3, 5, 2, 3, 2), (4, 4, 3, 3, 3), (2, 6, 4, 1, 1)]:
        x, k = torch.randn(h, w, generator=g), torch.randn(kh, kw, generator=g)
        torch.testing.assert_close(fn(x, k, s), F.conv_transpose2d(x[None, None], k[None, None], stride=s)[0, 0])


def test_choose_answers_match_nn_convtranspose2d_and_hidden_cases_have_one_answer():
    exercise, fn = as_student("4.3")
    for case in exercise.cases(hidden_seed=5):
        size, target, options = case.args
        right = [letter for letter, (k, s, p, op) in options.items()
                 if nn.ConvTranspose2d(1, 1, k, stride=s, padding=p, output_padding=op)(
                     torch.zeros(1, 1, size, size)).shape[-1] == target]
        assert right == [fn(*case.args)]


def test_separable_saving_agrees_with_layer_weights_and_the_chapter_ratio():
    _, fn = as_student("4.4")
    for c_in, c_out, k in [(256, 256, 3), (32, 64, 3), (16, 1, 5), (8, 40, 7)]:
        standard = nn.Conv2d(c_in, c_out, k, bias=False).weight.numel()
        separable = (nn.Conv2d(c_in, c_in, k, groups=c_in, bias=False).weight.numel()
                     + nn.Conv2d(c_in, c_out, 1, bias=False).weight.numel())
        assert fn(c_in, c_out, k) == pytest.approx(standard / separable)
    assert fn(256, 256, 3) == pytest.approx(1 / arith.separable_cost_ratio(256, 3))


def test_diagnose_fix_matches_torch_and_the_buggy_version_fails():
    exercise, fn = as_student("4.2")
    g = torch.Generator().manual_seed(1)
    x, w = torch.randn(2, 3, 5, 4, generator=g), torch.randn(3, 2, 3, 3, generator=g)
    for s, p in [(1, 0), (2, 1), (3, 2)]:
        torch.testing.assert_close(fn(x, w, s, p), F.conv_transpose2d(x, w, stride=s, padding=p))
    report = run_visible(exercise, exercise.buggy)
    assert not all(r.passed for r in report.results)
    assert not all(r.passed for r in hidden_results(exercise, exercise.buggy, 11))


def _module_transpose(x, weight, stride, padding):
    layer = nn.ConvTranspose2d(weight.shape[0], weight.shape[1], weight.shape[-1], stride=stride, padding=padding,
                               bias=False)
    with torch.no_grad():
        layer.weight.copy_(weight)
        return layer(x)


@pytest.mark.parametrize("exercise_id, wrong", [
    ("4.1", lambda x, k, stride=1: F.conv_transpose2d(x[None, None], k[None, None], stride=stride)[0, 0]),
    ("4.2", lambda x, weight, stride, padding: F.conv_transpose2d(x, weight, stride=stride, padding=padding)),
    ("4.2", lambda x, weight, stride, padding: _module_transpose(x, weight, stride, padding)),
])
def test_calling_the_library_is_reported(exercise_id, wrong):
    exercise = get_exercise(exercise_id)
    report = run_visible(exercise, wrong)
    assert not all(r.passed for r in report.results), str(report)
