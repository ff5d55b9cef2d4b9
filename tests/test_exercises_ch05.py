"""Chapter 5 exercises: the reference solutions pass and agree with PyTorch; mistakes fail."""
import inspect

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from exercise_helpers import as_student, hidden_results
from cnnlib import ops
from cnnlib.grading.feedback import run_visible
from cnnlib.grading.registry import get_exercise, list_exercises

IDS = ["5.1", "5.2", "5.3", "5.4", "5.5"]


def test_chapter_5_has_at_least_four_exercises_two_of_them_beyond_formulas():
    exercises = list_exercises(5)
    assert len(exercises) >= 4
    assert all(e.hidden is not None and e.hidden(np.random.default_rng(0)) for e in exercises)
    assert sum(e.kind in ("predict", "choose", "diagnose") for e in exercises) >= 2


@pytest.mark.parametrize("exercise_id", IDS)
def test_reference_solutions_pass_visible_and_hidden(exercise_id):
    exercise, fn = as_student(exercise_id)
    report = run_visible(exercise, fn)
    assert report.results and all(r.passed for r in report.results), str(report)
    assert all(r.passed for r in hidden_results(exercise, fn, seed=5))


@pytest.mark.parametrize("shape,k,s", [((2, 3, 7, 9), 3, 2), ((1, 1, 4, 4), 2, 2), ((2, 2, 6, 5), 2, 1)])
def test_max_pool_solution_matches_torch(shape, k, s):
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(as_student("5.1")[1](x, k, s), F.max_pool2d(x, k, s))


def test_batch_norm_solution_matches_torch_and_unbiased_variance_fails():
    x = torch.randn(3, 4, 5, 5, generator=torch.Generator().manual_seed(2)) * 3 + 1
    torch.testing.assert_close(as_student("5.2")[1](x), F.batch_norm(x, None, None, training=True))
    unbiased = lambda x, eps=1e-5: (x - x.mean((0, 2, 3), keepdim=True)) / torch.sqrt(  # noqa: E731
        x.var((0, 2, 3), keepdim=True) + eps)
    report = run_visible(get_exercise("5.2"), unbiased)
    assert not all(r.passed for r in report.results)


def test_library_pooling_is_forbidden():
    report = run_visible(get_exercise("5.1"), lambda x, k, s: F.max_pool2d(x, k, s))
    assert not any(r.passed for r in report.results)


def test_which_norm_knows_every_kind_and_a_guess_fails():
    rng = np.random.default_rng(3)
    from cnnlib.grading.exercises.ch05 import _case_5_3
    fn = as_student("5.3")[1]
    for kind in ("batch", "layer", "group", "instance"):
        x, y = _case_5_3(rng, kind, kind).args
        assert fn(x, y) == kind
    report = run_visible(get_exercise("5.3"), lambda x, y: "batch")
    assert not all(r.passed for r in report.results)


def test_downsample_fix_matches_blur_pool_and_the_bug_is_caught():
    x = torch.randn(2, 3, 9, 12, generator=torch.Generator().manual_seed(4))
    torch.testing.assert_close(as_student("5.4")[1](x), ops.blur_pool2d(x, 3, 2))
    exercise, namespace = get_exercise("5.4"), {}
    exec(compile(exercise.setup + "\n\n" + inspect.getsource(exercise.buggy), "<cell>", "exec"), namespace)
    results = run_visible(exercise, namespace["_buggy_downsample"]).results
    assert [r.passed for r in results] == [True, False, False]


def test_dropout_prediction_matches_torch():
    p, value = 0.3, 2.0
    out = F.dropout(torch.full((10_000,), value), p, training=True)
    kept = out[out != 0]
    torch.testing.assert_close(kept, torch.full_like(kept, as_student("5.5")[1](p, value)))
