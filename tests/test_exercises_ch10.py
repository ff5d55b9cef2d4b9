"""Chapter 10 exercises: reference solutions pass, agree with cnnlib.transfer, and typical mistakes fail."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from exercise_helpers import as_student, hidden_results
from cnnlib.grading.evaluate import judge_case, to_plain_state_dict
from cnnlib.grading.exercises import ch10
from cnnlib.grading.feedback import run_visible
from cnnlib.grading.registry import get_exercise, list_exercises


def test_chapter_10_has_five_exercises_with_hidden_checks():
    exercises = list_exercises(10)
    assert [e.id for e in exercises] == ["10.1", "10.2", "10.3", "10.4", "10.5"]
    assert all(e.hidden is not None and e.hidden(np.random.default_rng(0)) for e in exercises)
    assert {e.kind for e in exercises} >= {"write", "predict", "diagnose", "train"}


@pytest.mark.parametrize("exercise_id", ["10.1", "10.2", "10.3", "10.4"])
def test_reference_solutions_pass_visible_and_hidden(exercise_id):
    exercise, fn = as_student(exercise_id)
    report = run_visible(exercise, fn)
    assert report.results and all(r.passed for r in report.results), str(report)
    assert all(r.passed for r in hidden_results(exercise, fn, seed=5))


def test_head_only_step_matches_sgd_on_the_head():
    rng = np.random.default_rng(0)
    state = ch10._state(rng, 3)
    x, y = ch10._batch(rng, 6, 8, 3)
    out = ch10.head_only_step(state, x, y, 0.3)
    model = ch10.make_small_net(3)
    model.load_state_dict(state)
    loss = torch.nn.functional.cross_entropy(model(x), y)
    grad_w, grad_b = torch.autograd.grad(loss, [model[1].weight, model[1].bias])
    torch.testing.assert_close(out["1.weight"], state["1.weight"] - 0.3 * grad_w)
    torch.testing.assert_close(out["1.bias"], state["1.bias"] - 0.3 * grad_b)
    assert all(torch.equal(out[k], state[k]) for k in state if k.startswith("0."))


def test_training_everything_fails_10_1():
    def everything(state_dict, images, labels, lr):
        model = ch10.make_small_net(state_dict["1.weight"].shape[0])
        model.load_state_dict(state_dict)
        opt = torch.optim.SGD(model.parameters(), lr=lr)
        torch.nn.functional.cross_entropy(model(images), labels).backward()
        opt.step()
        return {k: v.detach().clone() for k, v in model.state_dict().items()}

    report = run_visible(get_exercise("10.1"), everything)
    assert not any(r.passed for r in report.results)


def test_stage_learning_rates_agree_with_param_groups():
    from cnnlib.models import create_model
    from cnnlib.transfer import param_groups, reset_classifier, stage_names

    model = reset_classifier(create_model("resnet18"), 4)
    groups = param_groups(model, 1e-3, decay=0.5)
    expected = ch10.stage_learning_rates(len(stage_names(model)) - 1, 1e-3, 0.5)
    assert [g["lr"] for g in groups] == pytest.approx(expected)


def test_trainable_count_agrees_with_a_real_model():
    from cnnlib.models import count_parameters, create_model
    from cnnlib.transfer import freeze, reset_classifier

    model = freeze(reset_classifier(create_model("mobilenet_v2"), 5))
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert ch10.trainable_count(1280, 5, ch10._mobilenet_backbone()) == (trainable, count_parameters(model))


def test_buggy_train_head_fails_and_drifts_only_the_statistics():
    exercise = get_exercise("10.4")
    report = run_visible(exercise, ch10._buggy_train_head)
    assert not any(r.passed for r in report.results)
    case = exercise.visible()[0]
    bad = ch10._buggy_train_head(*case.args)
    good = ch10.train_head(*case.args)
    state = case.args[0]
    assert torch.equal(bad["0.0.weight"], state["0.0.weight"])  # weights frozen in both
    assert not torch.equal(bad["0.1.running_mean"], state["0.1.running_mean"])  # but the statistics moved
    assert torch.equal(good["0.1.running_mean"], state["0.1.running_mean"])


def test_10_5_judge_rejects_an_untrained_model_and_a_wrong_architecture():
    torch.manual_seed(0)
    passed, message = ch10.judge_textures(seed=1)(to_plain_state_dict(ch10.make_texture_model()))
    assert not passed and "accuracy" in message
    passed, message = ch10.judge_textures(seed=1)(to_plain_state_dict(torch.nn.Linear(3, 2)))
    assert not passed and "not make_texture_model" in message


@pytest.mark.slow
def test_10_5_reference_training_passes_visible_and_hidden_judges():
    exercise, fn = as_student("10.5")
    visible = exercise.visible()[0]
    value = to_plain_state_dict(fn(*visible.args))
    result = judge_case(exercise, visible, None, status="ok", value=value)
    assert result.passed, result.message
    assert all(r.passed for r in hidden_results(exercise, fn, seed=3))
