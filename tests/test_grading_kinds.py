"""The exercise kinds beyond "write": predict, choose and diagnose.

Checks the machinery (wrong choice, right choice, answer of the wrong type,
explanations only after a wrong answer, a diagnose stub left buggy or fixed,
hidden variants) and checks each new exercise's reference answer against
what PyTorch measures. Also checks that no stub or hint gives its answer away.
"""
from __future__ import annotations

import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cnnlib.grading import Exercise, check, get_exercise, list_exercises
from cnnlib.grading.evaluate import expected_value, judge_case
from cnnlib.grading.feedback import run_visible
from cnnlib.grading.registry import DIAGNOSE_GUARD, KINDS

QUICK = [e for e in list_exercises() if e.time_limit <= 30]
DIAGNOSE = [e.id for e in list_exercises() if e.kind == "diagnose"]
QUESTIONS = [e.id for e in list_exercises() if e.kind in ("predict", "choose")]


def _define(exercise: Exercise, source: str):
    namespace: dict = {"__name__": "__main__"}
    exec(compile(exercise.setup + "\n\n" + source, f"<exercise {exercise.id}>", "exec"), namespace)
    return namespace[exercise.function]


def _judge(exercise: Exercise, case, value):
    return judge_case(exercise, case, expected_value(exercise, case), status="ok", value=value)


# ------------------------------------------------------------------ every chapter has them
@pytest.mark.parametrize("chapter", [1, 2, 3, 5, 6, 9])
def test_each_chapter_has_two_graded_understanding_exercises_with_hidden_checks(chapter):
    found = [e for e in list_exercises(chapter) if e.kind in ("predict", "choose", "diagnose")]
    assert len(found) >= 2
    for e in found:
        assert e.hidden is not None and len(e.hidden(np.random.default_rng(0))) >= 3


def test_every_exercise_has_a_known_kind():
    assert all(e.kind in KINDS for e in list_exercises())
    assert {e.kind for e in list_exercises()} == set(KINDS)


# ------------------------------------------------------------------ choose
def test_choose_right_wrong_and_wrongly_typed_answers():
    ex = get_exercise("3.5")
    case = ex.visible()[0]
    right = expected_value(ex, case)
    wrong = next(c for c in ex.choices if c != right)
    passed = _judge(ex, case, right)
    assert passed.passed and passed.explanation == "" and passed.message == ""
    failed = _judge(ex, case, wrong)
    assert failed.status == "fail"
    assert "multiply-adds" in failed.explanation and right in failed.message
    for bad in (2, right.lower(), "E", None, ["A"]):
        typed = _judge(ex, case, bad)
        assert typed.status == "fail" and typed.explanation == ""
        assert "answer with one of 'A', 'B', 'C', 'D'" in typed.message


def test_choose_feedback_in_the_notebook():
    report = check("1.5", lambda shift, networks: "C")
    text = str(report)
    assert report.passed == 1 < len(report.results)  # right for the first question only
    assert "why:" in text and "flatten head" in text
    right = check("1.5", _define(get_exercise("1.5"), get_exercise("1.5").solution_source()))
    assert "why:" not in str(right) and right.passed == len(right.results)
    typed = str(check("1.5", lambda shift, networks: 0))
    assert "answer with one of" in typed and "why:" not in typed


# ------------------------------------------------------------------ predict
def test_predict_explains_only_a_wrong_value_of_the_right_type():
    ex = get_exercise("2.5")
    case = ex.visible()[0]
    assert _judge(ex, case, (4, 16, 36, 9)).explanation == ""
    wrong = _judge(ex, case, (4, 16, 36, 36))
    assert wrong.status == "fail" and "weight sharing" in wrong.explanation
    for bad in ((4, 16, 36), "4, 16, 36, 9", (4.0, 16, 36, 9)):
        typed = _judge(ex, case, bad)
        assert typed.status == "fail" and typed.explanation == "", bad


def test_explanations_never_show_under_right_answers():
    for ex_id in QUESTIONS:
        ex = get_exercise(ex_id)
        for case in ex.cases(hidden_seed=5):
            result = _judge(ex, case, expected_value(ex, case))
            assert result.passed and result.explanation == "", (ex_id, case.label)
            assert ex.explain(*case.args, **case.kwargs)  # and every case can be explained


@pytest.mark.parametrize("ex_id", QUESTIONS)
def test_hidden_variants_are_new_questions(ex_id):
    ex = get_exercise(ex_id)
    visible = [repr(c.args) for c in ex.visible()]
    a = [repr(c.args) for c in ex.hidden(np.random.default_rng([1, 2]))]
    b = [repr(c.args) for c in ex.hidden(np.random.default_rng([3, 4]))]
    assert a != b and not set(a) & set(visible)
    answers = {repr(expected_value(ex, c)) for c in ex.cases(hidden_seed=9)}
    assert len(answers) >= 2  # not one answer that could be passed around


# ------------------------------------------------------------------ diagnose
@pytest.mark.parametrize("ex_id", DIAGNOSE)
def test_diagnose_stub_is_the_buggy_code_behind_a_guard(ex_id):
    ex = get_exercise(ex_id)
    stub = ex.stub_source()
    assert DIAGNOSE_GUARD.format(id=ex_id) in stub and f"def {ex.function}(" in stub
    assert ex.buggy.__name__ not in stub
    assert not run_visible(ex, _define(ex, stub)).attempted
    # Deleting the guard line and nothing else leaves the bug: some visible and some hidden checks fail.
    left_buggy = _define(ex, "\n".join(line for line in stub.splitlines() if "NotImplementedError" not in line))
    report = run_visible(ex, left_buggy)
    assert report.attempted and report.passed < len(report.results), str(report)
    hidden = ex.hidden(np.random.default_rng(3))
    assert any(not _judge(ex, c, left_buggy(*c.args, **c.kwargs)).passed for c in hidden)
    fixed = _define(ex, ex.solution_source())
    assert run_visible(ex, fixed).passed == len(ex.visible())


def test_registry_rejects_inconsistent_kinds():
    def f(a, b):
        return a

    def g(a):
        return a

    with pytest.raises(ValueError, match="kind"):
        Exercise("9.1", "t", solution=f, visible=list, kind="guess")
    with pytest.raises(ValueError, match="choices"):
        Exercise("9.1", "t", solution=f, visible=list, kind="choose")
    with pytest.raises(ValueError, match="choices"):
        Exercise("9.1", "t", solution=f, visible=list, choices=("A", "B"))
    with pytest.raises(ValueError, match="explain"):
        Exercise("9.1", "t", solution=f, visible=list, explain=lambda a, b: "")
    with pytest.raises(ValueError, match="buggy"):
        Exercise("9.1", "t", solution=f, visible=list, kind="diagnose")
    with pytest.raises(ValueError, match="same parameters"):
        Exercise("9.1", "t", solution=f, visible=list, kind="diagnose", buggy=g)
    with pytest.raises(ValueError, match="train"):
        Exercise("9.1", "t", solution=f, visible=list, kind="train")
    assert Exercise("9.1", "t", solution=f, visible=list, returns="state_dict").kind == "train"


# ------------------------------------------------------------------ stubs do not give answers away
#: Per exercise, expressions that answer it; none may appear in its stub, title, hints or labels.
ANSWERS = {
    "1.1": ["* hidden + hidden", "+ 1) * hidden"],
    "1.2": ["i - dy", "j - dx"],
    "1.3": ["floor(angle", "180 / bins", "index_add"],
    "1.4": ["pad by", "random -3..3", "crop"],
    "1.5": ["% total", "divides the shift", "global max head"],
    "1.6": ["shift(conv("],
    "2.1": ["x[i + a", "x[i:i"],
    "2.2": ["sum over c", "weight[o, c"],
    "2.3": ["flip", "kh - 1 - a", "kH - 1 - a"],
    "2.4": ["reshape", "weight @", "H*W", "H * W"],
    "2.6": ["flip"],
    "2.5": ["* kernel_size", "k * k", "K * K", "K^2"],
    "3.1": ["2P", "2 * padding", "D(K - 1)", "(K - 1)", "floor("],
    "3.2": ["K * K", "+ 1) * C_out", "K*K*C_in"],
    "3.3": ["C_out * H_out", "C_in * K * K", "inner product"],
    "3.4": ["1 + L(K - 1)", "D_l (K_l - 1)", "jump *="],
    "3.5": ["out_h * out_w", "c_in * k * k"],
    "3.6": ["dilation * (", "D (K - 1) / 2", "D(K - 1) / 2"],
    "4.1": ["adds a copy of the kernel", "scaled by itself", "i * stride:", "overlapping copies add"],
    "4.2": ["flip", "[..., ::-1]"],
    "4.3": ["(size - 1) * s", "(h - 1) s + k", "- 2 * p + k"],
    "4.4": ["in_channels * kernel_size * kernel_size + in_channels * out_channels", "c_in cancels",
            "1 / out_channels"],
    "5.1": ["amax(", ".max(dim", "// stride + 1", "i * stride"],
    "5.2": ["(0, 2, 3)", "unbiased=false", "correction=0", "sqrt(var + eps"],
    "5.3": ["mean(dim=(2, 3))", "reshape(n, g", "instance first"],
    "5.4": ["blur first", "subsample after", "before subsampling", "conv2d(x, kernel, groups=c)\n    return"],
    "5.5": ["/ (1 - p)", "1 / (1 - p)", "scaled by 1"],
    "9.1": [".mean(dim=(2, 3))", "average of the gradient", "global average of"],
    "9.2": ["clamp(min=0)", "relu(", "* activations).sum"],
    "9.3": ["-(-side // s)", "ceil(side / s)", "rounds up"],
    "9.4": ["last_conv", "[\"gap\", \"linear\"]"],
    "9.5": ["(image_size - window)", "per_axis * per_axis", "squared"],
    "9.6": ["grad_output.clamp(min=0)", "(grad_output > 0)", "only positive gradients"],
    "10.1": ["requires_grad_(False)", "requires_grad = False", "model[1].parameters()", "model[0].parameters()"],
    "10.2": ["decay ** (", "decay**(", "num_stages - i"],
    "10.3": ["num_features * num_classes + num_classes", "backbone_parameters + head"],
    "10.4": ["model[0].eval()", ".eval()", "running statistics", "running_mean"],
    "6.1": ["- max", "z.max", "subtract the maximum", "exp(z - m"],
    "6.2": ["(z - m)", "log_p[", "torch.arange(N)"],
    "6.3": ["sigma(z) - y", "sigmoid(z) - y", "max(z, 0) - y z", "log1p"],
    "6.4": ["matrix[t, p]", "[target, prediction]"],
    "6.6": ["the entropy", "entropy of", "1 - smoothing + smoothing / num_classes", "eps / C", "p = q"],
    "6.7": [".eval()", "eval()", "no_grad", "running statistics"],
    "7.1": ["topk(", "argsort", "any(dim=1)", "targets[:, none]"],
    "7.2": ["(3 * 3 * in_channels + 1)", "9 * in_channels", "2 * out_channels", "(num_convs - 1)"],
    "7.3": ["* h * w", "n_in * features", "k * k * c * c_out"],
    "7.4": ["max_pool2d(x", "pool first", "then project", "projection after"],
    "8.1": ["torch.cat(", "features.append", "concatenat"],
    "8.2": ["4 * planes", "in_channels == out_channels", "stride == 1 and"],
    "8.3": ["width * width * 9", "* 9 // groups", "2 * (width", "in_channels * out"],
    "8.4": ["h = torch.relu", "carries the input", "overwrit"],
}


def _student_visible_text(ex: Exercise) -> str:
    parts = [ex.stub_source(), ex.title, ex.hint] + [c.hint + " " + c.label for c in ex.visible()]
    return "\n".join(parts)


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).lower()


@pytest.mark.parametrize("ex_id", sorted(ANSWERS))
def test_stub_and_hints_do_not_state_the_answer(ex_id):
    ex = get_exercise(ex_id)
    text = _norm(_student_visible_text(ex))
    for key in ANSWERS[ex_id]:
        assert _norm(key) not in text, f"exercise {ex_id} shows {key!r}"


@pytest.mark.parametrize("ex_id", [e.id for e in list_exercises() if e.kind != "diagnose"])
def test_no_line_of_the_solution_appears_in_the_stub_or_hints(ex_id):
    """A generic guard: a non-trivial line of the reference solution's code is never shown."""
    ex = get_exercise(ex_id)
    body = ex.solution_source().split('"""')[-1]
    lines = {_norm(line.split("#")[0]).strip() for line in body.splitlines()}
    code = [line for line in lines if len(line) >= 14 and not line.startswith(("return model", "for ", "model ="))]
    text = _norm(_student_visible_text(ex))
    assert not [line for line in code if line in text]


def test_every_exercise_is_checked_for_giveaways():
    assert set(ANSWERS) >= {e.id for e in list_exercises() if e.kind != "train"}


# ------------------------------------------------------------------ the new answers agree with PyTorch
def _net(head: str, pool_strides, seed: int) -> nn.Module:
    torch.manual_seed(seed)
    # No biases: the blank canvas then gives 0, and the maxima come from the digit.
    layers: list[nn.Module] = [nn.Conv2d(1, 4, 3, padding=1, bias=False), nn.ReLU()]
    for s in pool_strides:  # every pooling layer is followed by a convolution, as the exercise says
        layers += [nn.MaxPool2d(s), nn.Conv2d(4, 4, 3, padding=1, bias=False), nn.ReLU()]
    if head == "flatten":
        return nn.Sequential(*layers, nn.Flatten(), nn.LazyLinear(3))
    return nn.Sequential(*layers, nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Linear(4, 3))


def test_survives_shift_matches_real_networks():
    ex = get_exercise("1.5")
    canvas = torch.zeros(1, 1, 48, 48)
    canvas[0, 0, 20:28, 20:28] = 4 * torch.rand(8, 8, generator=torch.Generator().manual_seed(0)) - 1
    for case in ex.cases(hidden_seed=11):
        shift, networks = case.args
        moved = torch.roll(canvas, shift, dims=(2, 3))  # blank margins: a roll is a shift
        unchanged = []
        for letter, (head, strides) in networks.items():
            net = _net(head, strides, seed=ord(letter))
            with torch.no_grad():
                a, b = net(canvas), net(moved)
            if torch.allclose(a, b, atol=1e-6):
                unchanged.append(letter)
        assert unchanged == [ex.solution(shift, networks)], (case.label, networks)


def test_costliest_layer_matches_the_flop_counter():
    from torch.utils.flop_counter import FlopCounterMode

    ex = get_exercise("3.5")
    for case in ex.cases(hidden_seed=2)[:5]:
        shape, layers = case.args
        flops = {}
        for letter, (c_out, k, s, p) in layers.items():
            with FlopCounterMode(display=False) as counter:
                F.conv2d(torch.zeros(1, *shape), torch.zeros(c_out, shape[0], k, k), stride=s, padding=p)
            flops[letter] = counter.get_total_flops()
        assert ex.solution(shape, layers) == max(flops, key=flops.get)


def test_conv_as_matrix_matches_the_measured_matrix():
    ex = get_exercise("2.5")
    for c_in, c_out, h, w, k in [(1, 1, 4, 4, 3), (2, 3, 5, 6, 2), (3, 2, 4, 4, 1), (1, 2, 3, 5, 3)]:
        weight = torch.randn(c_out, c_in, k, k, dtype=torch.float64)
        basis = torch.eye(c_in * h * w, dtype=torch.float64).reshape(-1, c_in, h, w)
        matrix = F.conv2d(basis, weight).reshape(c_in * h * w, -1).T  # column j: the response to input j
        nonzero = matrix[matrix != 0]
        assert ex.solution(c_in, c_out, h, w, k) == (matrix.shape[0], matrix.shape[1], nonzero.numel(),
                                                     torch.unique(nonzero).numel())


def test_smoothed_loss_floor_is_pytorchs_minimum():
    ex = get_exercise("6.6")
    for c, eps in [(10, 0.1), (2, 0.2), (100, 0.05), (10, 0.0)]:
        floor = ex.solution(c, eps)
        target = torch.tensor([3 % c])
        q = torch.full((1, c), eps / c, dtype=torch.float64)
        q[0, target] += 1 - eps
        logits = torch.log(q.clamp_min(1e-300))
        loss = F.cross_entropy(logits, target, label_smoothing=eps)
        assert abs(loss.item() - floor) < 1e-9
        for _ in range(20):  # any other logits give a larger loss
            other = logits + 0.3 * torch.randn_like(logits)
            assert F.cross_entropy(other, target, label_smoothing=eps).item() >= floor - 1e-12


def test_diagnose_solutions_agree_with_references():
    from cnnlib.grading.exercises import ch01, ch02, ch03, ch06

    g = torch.Generator().manual_seed(0)
    for _ in range(5):
        x, k = torch.randn(5, 6, generator=g, dtype=torch.float64), torch.randn(3, 2, generator=g, dtype=torch.float64)
        full = ch02.convolve_full(x, k)
        torch.testing.assert_close(full, ch02.convolve_full(k, x))
        from scipy.signal import convolve2d

        torch.testing.assert_close(full, torch.from_numpy(convolve2d(x.numpy(), k.numpy(), mode="full")))
    for k, d in [(3, 1), (3, 2), (5, 3), (1, 4), (7, 2)]:
        x, w = torch.randn(2, 3, 11, 9, generator=g), torch.randn(4, 3, k, k, generator=g)
        torch.testing.assert_close(ch03.conv_same(x, w, d), F.conv2d(x, w, padding="same", dilation=d))
    digit = ch01._digit_on_canvas()
    assert ch01.equivariance_error(digit, torch.randn(3, 3, generator=g), 2, -3) == 0.0
    x = torch.randn(7, 7, generator=g)
    kernel = torch.randn(3, 3, generator=g)
    ref = (F.conv2d(F.pad(x, (1, 0, 0, 0))[:, :7][None, None], kernel[None, None], padding=1)[0, 0]
           - F.pad(F.conv2d(x[None, None], kernel[None, None], padding=1)[0, 0], (1, 0, 0, 0))[:, :7]).abs().max()
    assert abs(ch01.equivariance_error(x, kernel, 0, 1) - ref.item()) < 1e-6
    state = ch06._trained_like_state(np.random.default_rng(0))
    images = torch.rand(6, 1, 8, 8, generator=g)
    model = ch06.make_bn_cnn()
    model.load_state_dict(state)
    with torch.no_grad():
        ref = model.eval()(images)
    for batch in (1, 4, 6):
        torch.testing.assert_close(ch06.predict_logits(state, images, batch), ref)


def test_instructor_guide_lists_every_exercise_with_its_kind_and_points():
    from pathlib import Path

    guide = (Path(__file__).resolve().parents[1] / "book" / "instructor_guide.md").read_text()
    rows = {m[0]: (m[1], m[2], float(m[3])) for m in
            re.findall(r"^\| (\d+\.\d+) \| `(\w+)` \| (\w+) \| ([\d.]+) \|", guide, flags=re.M)}
    assert rows == {e.id: (e.function, e.kind, float(e.points)) for e in list_exercises()}
