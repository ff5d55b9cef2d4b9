"""Every registered exercise: its reference solution (as the solution notebook
holds it) passes every visible and hidden check, its stub is "not attempted",
and the chapter 2 and 3 solutions agree with PyTorch's own layers."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cnnlib.grading import Case, Exercise, get_exercise, list_exercises, register
from cnnlib.grading.evaluate import expected_value, judge_case, to_plain_state_dict
from cnnlib.grading.feedback import run_visible
from cnnlib.grading.forbid import guarded_call

# Training exercises take minutes; their own chapter's tests cover them.
QUICK = [e.id for e in list_exercises() if e.time_limit <= 30]


def _from_source(exercise: Exercise, source: str):
    namespace: dict = {"__name__": "__main__"}
    exec(compile(exercise.setup + "\n\n" + source, f"<exercise {exercise.id}>", "exec"), namespace)
    return namespace[exercise.function]


def test_ids_are_listed_in_order_and_unique():
    ids = [e.id for e in list_exercises()]
    assert ids == sorted(ids, key=lambda i: tuple(map(int, i.split("."))))
    assert len(ids) == len(set(ids))
    assert {"2.1", "2.2", "2.3", "2.4", "3.1", "3.2", "3.3", "3.4"} <= set(ids)


@pytest.mark.parametrize("exercise_id", QUICK)
def test_reference_solution_passes_every_check(exercise_id):
    exercise = get_exercise(exercise_id)
    fn = _from_source(exercise, exercise.solution_source())
    cases = exercise.cases(hidden_seed=12345)
    assert len(cases) > len(exercise.visible()) or exercise.hidden is None
    for case in cases:
        guard = guarded_call(fn, case.args, case.kwargs, exercise.forbidden)
        assert guard.error is None, guard.error
        value = to_plain_state_dict(guard.value) if exercise.returns == "state_dict" else guard.value
        verdict = judge_case(exercise, case, expected_value(exercise, case), status="ok", value=value,
                             violations=guard.violations)
        assert verdict.passed, (case.label, verdict)


@pytest.mark.parametrize("exercise_id", QUICK)
def test_untouched_stub_is_not_attempted(exercise_id):
    exercise = get_exercise(exercise_id)
    stub = exercise.stub_source()
    assert f'NotImplementedError("exercise {exercise_id}' in stub
    report = run_visible(exercise, _from_source(exercise, stub))
    assert not report.attempted
    assert "not attempted yet" in str(report)


def test_hidden_cases_depend_on_the_seed():
    ex = get_exercise("2.1")
    a = [c.args[0] for c in ex.cases(hidden_seed=1)][3:]
    b = [c.args[0] for c in ex.cases(hidden_seed=2)][3:]
    assert any(not torch.equal(x, y) for x, y in zip(a, b))


def test_conv_solutions_match_torch():
    from cnnlib.grading.exercises import ch02

    g = torch.Generator().manual_seed(0)
    for _ in range(10):
        c_in, c_out = torch.randint(1, 4, (2,), generator=g).tolist()
        h, w = torch.randint(3, 9, (2,), generator=g).tolist()
        kh, kw = torch.randint(1, 4, (2,), generator=g).tolist()
        x = torch.randn(c_in, h, w, generator=g, dtype=torch.float64)
        weight = torch.randn(c_out, c_in, kh, kw, generator=g, dtype=torch.float64)
        ref = F.conv2d(x[None], weight)[0]
        torch.testing.assert_close(ch02.conv2d_multi(x, weight), ref)
        torch.testing.assert_close(ch02.corr2d(x[0], weight[0, 0]), F.conv2d(x[None, :1], weight[:1, :1])[0, 0])
        flipped = F.conv2d(x[None, :1], torch.flip(weight[:1, :1], (2, 3)))[0, 0]
        torch.testing.assert_close(ch02.convolve2d(x[0], weight[0, 0]), flipped)
        torch.testing.assert_close(ch02.conv1x1(x, weight[:, :, 0, 0]), F.conv2d(x[None], weight[:, :, :1, :1])[0])


def test_arithmetic_solutions_match_torch():
    from cnnlib.grading.exercises import ch03

    rng = np.random.default_rng(0)
    for _ in range(40):
        h, k, s, p, d = (int(v) for v in (rng.integers(1, 30), rng.integers(1, 6), rng.integers(1, 4),
                                          rng.integers(0, 3), rng.integers(1, 3)))
        if h + 2 * p - d * (k - 1) - 1 < 0:
            continue
        out = F.conv1d(torch.zeros(1, 1, h), torch.zeros(1, 1, k), stride=s, padding=p, dilation=d)
        assert ch03.conv_output_size(h, k, s, p, d) == out.shape[-1]
    for c_in, c_out, k, bias in [(3, 10, 5, True), (3, 10, 3, True), (64, 128, 3, False), (7, 2, 1, True)]:
        layer = torch.nn.Conv2d(c_in, c_out, k, bias=bias)
        assert ch03.conv2d_num_params(c_in, c_out, k, bias) == sum(p.numel() for p in layer.parameters())
    from torch.utils.flop_counter import FlopCounterMode

    for c_in, c_out, k, size in [(3, 10, 5, 32), (2, 4, 3, 9)]:
        x, w = torch.zeros(1, c_in, size, size), torch.zeros(c_out, c_in, k, k)
        with FlopCounterMode(display=False) as counter:
            y = F.conv2d(x, w, padding=k // 2)
        assert 2 * ch03.conv2d_mult_adds(c_in, c_out, k, y.shape[2], y.shape[3]) == counter.get_total_flops()
    assert ch03.conv2d_mult_adds(3, 10, 5, 32, 32) == 768_000


def _measured_receptive_field(kernels, strides, dilations) -> int:
    """The receptive field measured by back-propagating from one output pixel."""
    size = 1 + sum(d * (k - 1) for k, d in zip(kernels, dilations)) * math.prod(strides) * 2 + 64
    x = torch.zeros(1, 1, size, requires_grad=True)
    y = x
    for k, s, d in zip(kernels, strides, dilations):
        y = F.conv1d(y, torch.ones(1, 1, k), stride=s, dilation=d)
    y[0, 0, y.shape[-1] // 2].backward()
    nz = torch.nonzero(x.grad[0, 0]).flatten()
    return int(nz.max() - nz.min() + 1)


def test_receptive_field_matches_backprop():
    from cnnlib.grading.exercises import ch03

    rng = np.random.default_rng(1)
    for _ in range(25):
        n = int(rng.integers(1, 5))
        ks = [int(v) for v in rng.integers(1, 6, n)]
        ss = [int(v) for v in rng.integers(1, 3, n)]
        ds = [int(v) for v in rng.integers(1, 3, n)]
        assert ch03.receptive_field(ks, ss, ds) == _measured_receptive_field(ks, ss, ds)
    assert ch03.receptive_field([3, 3, 3]) == 7


def test_register_rejects_bad_definitions():
    with pytest.raises(ValueError, match="chapter.number"):
        Exercise("two", "t", solution=abs, visible=list)
    with pytest.raises(ValueError, match="returns"):
        Exercise("9.1", "t", solution=abs, visible=list, returns="pickle")
    with pytest.raises(TypeError):
        register("2.1")
    with pytest.raises(KeyError, match="Registered exercises"):
        get_exercise("99.9")


def test_judge_cases_for_training_exercises():
    def model_fn():
        return torch.nn.Linear(2, 1)

    def judge(state):
        return ("weight" in state and state["weight"].shape == (1, 2), "needs a 2 -> 1 linear layer")

    ex = Exercise("99.1", "toy", solution=model_fn, visible=lambda: [Case(judge=judge, label="shape")],
                  returns="state_dict")
    assert run_visible(ex, model_fn).passed == 1
    assert run_visible(ex, lambda: torch.nn.Linear(3, 1)).passed == 0
