"""Chapter 6 exercises: the reference solutions pass and agree with PyTorch; mistakes fail."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from exercise_helpers import train_once_and_judge_all, as_student, hidden_results
from cnnlib.grading.evaluate import to_plain_state_dict
from cnnlib.grading.feedback import run_visible
from cnnlib.grading.registry import get_exercise, list_exercises


def _as_student(exercise_id: str):
    return as_student(exercise_id)


def _hidden_results(exercise, fn, seed=11):
    return hidden_results(exercise, fn, seed)


def test_chapter_6_has_at_least_four_exercises_with_hidden_checks():
    exercises = list_exercises(6)
    assert len(exercises) >= 4
    assert all(e.hidden is not None and e.hidden(np.random.default_rng(0)) for e in exercises)


@pytest.mark.parametrize("exercise_id", ["6.1", "6.2", "6.3", "6.4"])
def test_reference_solutions_pass_visible_and_hidden(exercise_id):
    exercise, fn = _as_student(exercise_id)
    report = run_visible(exercise, fn)
    assert report.results and all(r.passed for r in report.results), str(report)
    assert all(r.passed for r in _hidden_results(exercise, fn))


def test_solutions_agree_with_torch():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(6, 5, generator=g) * 4
    y = torch.randint(0, 5, (6,), generator=g)
    torch.testing.assert_close(_as_student("6.1")[1](z), F.softmax(z, -1))
    torch.testing.assert_close(_as_student("6.2")[1](z, y), F.cross_entropy(z, y))
    zb = torch.randn(7, generator=g, requires_grad=True)
    yb = torch.randint(0, 2, (7,), generator=g).float()
    loss, grad = _as_student("6.3")[1](zb.detach(), yb)
    ref = F.binary_cross_entropy_with_logits(zb, yb)
    (auto,) = torch.autograd.grad(ref, zb)
    torch.testing.assert_close(loss, ref.detach())
    torch.testing.assert_close(grad, auto)
    targets, preds = torch.randint(0, 4, (30,), generator=g), torch.randint(0, 4, (30,), generator=g)
    from sklearn.metrics import confusion_matrix as sk_confusion

    assert np.array_equal(_as_student("6.4")[1](targets, preds, 4).numpy(),
                          sk_confusion(targets.numpy(), preds.numpy(), labels=range(4)))


def test_naive_softmax_fails_on_huge_logits():
    report = run_visible(get_exercise("6.1"), lambda z: torch.exp(z) / torch.exp(z).sum(-1, keepdim=True))
    assert [r.passed for r in report.results] == [True, True, False]


def test_library_softmax_is_forbidden():
    report = run_visible(get_exercise("6.1"), lambda z: torch.softmax(z, -1))
    assert all(r.status == "forbidden" for r in report.results)


def test_transposed_confusion_matrix_fails():
    solution = _as_student("6.4")[1]
    report = run_visible(get_exercise("6.4"), lambda t, p, c: solution(t, p, c).T.contiguous())
    assert not all(r.passed for r in report.results)


def test_lenet_of_the_exercise_has_the_lecture_shapes():
    from cnnlib.grading.exercises.ch06 import make_lenet
    from cnnlib.models import count_parameters, create_model

    model = make_lenet()
    shapes = []
    x = torch.zeros(1, 1, 28, 28)
    for layer in model:
        x = layer(x)
        shapes.append(tuple(x.shape[1:]))
    for expected in [(6, 28, 28), (6, 14, 14), (16, 10, 10), (16, 5, 5), (120,), (84,), (10,)]:
        assert expected in shapes
    assert count_parameters(model) == count_parameters(create_model("lenet5")) == 61_706


def test_6_5_judge_rejects_an_untrained_model_and_a_wrong_architecture():
    from cnnlib.grading.exercises.ch06 import judge_lenet, make_lenet

    torch.manual_seed(0)
    passed, message = judge_lenet("val")(to_plain_state_dict(make_lenet()))
    assert not passed and "accuracy" in message
    passed, message = judge_lenet("val")(to_plain_state_dict(torch.nn.Linear(784, 10)))
    assert not passed and "not make_lenet" in message


@pytest.mark.slow
def test_6_5_reference_training_passes_visible_and_hidden_judges():
    exercise, fn = _as_student("6.5")
    # The visible and hidden judges test one model trained on the same data: train it once.
    judged, trainings = train_once_and_judge_all(exercise, fn, seed=7)
    assert len(judged) >= 2 and trainings == 1
    for case, result in judged:
        assert result.passed, f"{case.label}: {result.message}"
