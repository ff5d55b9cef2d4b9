"""Chapter 1 exercises: the reference solutions pass, typical mistakes fail."""
import numpy as np
import pytest
import torch

from exercise_helpers import train_once_and_judge_all, as_student, hidden_results
from cnnlib.grading.evaluate import to_plain_state_dict
from cnnlib.grading.feedback import run_visible
from cnnlib.grading.registry import get_exercise, list_exercises


def _as_student(exercise_id: str):
    return as_student(exercise_id)


def _hidden_results(exercise, fn, seed=7):
    return hidden_results(exercise, fn, seed)


def test_chapter_1_has_at_least_four_exercises_with_hidden_checks():
    exercises = list_exercises(1)
    assert len(exercises) >= 4
    assert all(e.hidden is not None and e.hidden(np.random.default_rng(0)) for e in exercises)


@pytest.mark.parametrize("exercise_id", ["1.1", "1.2", "1.3"])
def test_reference_solutions_pass_visible_and_hidden(exercise_id):
    exercise, fn = _as_student(exercise_id)
    report = run_visible(exercise, fn)
    assert report.results and all(r.passed for r in report.results), str(report)
    assert all(r.passed for r in _hidden_results(exercise, fn)), "a hidden case fails"


def test_the_lecture_numbers_in_1_1():
    _, fn = _as_student("1.1")
    dense, conv = fn(1000, 1000, 3, 20, 3)
    assert dense - 20 == 60_000_000  # the lecture's 60 million weights, plus 20 biases
    assert conv == 560


def test_1_2_rejects_a_wrapping_shift():
    exercise = get_exercise("1.2")
    report = run_visible(exercise, lambda x, dy, dx: torch.roll(x, (dy, dx), (0, 1)))
    assert not all(r.passed for r in report.results)


def test_1_2_solution_matches_the_library_shift():
    from cnnlib.equivariance import shift

    _, fn = _as_student("1.2")
    x = torch.randn(7, 9, generator=torch.Generator().manual_seed(0))
    for dy, dx in [(2, -3), (-6, 8), (0, 1)]:
        assert torch.equal(fn(x, dy, dx), shift(x, (dy, dx)))


def test_1_3_solution_on_a_pure_edge_and_a_forgotten_modulo_fails():
    _, fn = _as_student("1.3")
    patch = torch.zeros(5, 5)
    patch[:, 3:] = 1.0
    hist = fn(patch, 4)
    assert hist[0] == hist.sum() > 0

    def no_modulo(patch, bins):  # angles in -180..180 land in wrong bins
        gx = torch.zeros_like(patch)
        gy = torch.zeros_like(patch)
        gx[:, 1:-1] = patch[:, 2:] - patch[:, :-2]
        gy[1:-1, :] = patch[2:, :] - patch[:-2, :]
        angle = torch.rad2deg(torch.atan2(gy, gx)).abs()
        index = torch.clamp((angle / (180.0 / bins)).floor().long(), max=bins - 1)
        return torch.zeros(bins).index_add_(0, index.flatten(), torch.sqrt(gx ** 2 + gy ** 2).flatten())

    report = run_visible(get_exercise("1.3"), no_modulo)
    assert not all(r.passed for r in report.results)


def test_1_4_judge_rejects_an_untrained_model_and_a_wrong_architecture():
    from cnnlib.grading.exercises.ch01 import judge_shift_robust, make_shift_cnn

    torch.manual_seed(0)
    judge = judge_shift_robust("val", [(0, 0), (2, 2)])
    passed, message = judge(to_plain_state_dict(make_shift_cnn()))
    assert not passed and "mean accuracy" in message
    passed, message = judge(to_plain_state_dict(torch.nn.Linear(256, 10)))
    assert not passed and "not make_shift_cnn" in message
    passed, _ = judge("not a model")
    assert not passed


@pytest.mark.slow
def test_1_4_reference_training_passes_visible_and_hidden_judges():
    exercise, fn = _as_student("1.4")
    # The visible and hidden judges test one model trained on the same data: train it once.
    judged, trainings = train_once_and_judge_all(exercise, fn, seed=7)
    assert len(judged) >= 2 and trainings == 1
    for case, result in judged:
        assert result.passed, f"{case.label}: {result.message}"


def test_an_optimizer_step_is_not_flagged_as_tampering():
    from cnnlib.grading.forbid import guarded_call

    model = torch.nn.Linear(3, 2)
    model(torch.ones(1, 3)).sum().backward()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    result = guarded_call(optimizer.step, (), {}, ("cnnlib.grading", "cnnlib"))
    assert result.violations == []


def test_the_same_torch_internals_called_by_the_student_are_tampering():
    from cnnlib.grading.forbid import guarded_call

    def student():
        with torch._C.DisableTorchFunctionSubclass():
            return 1

    result = guarded_call(student, (), {}, ("cnnlib",))
    assert any("tampered" in v for v in result.violations), result.violations
