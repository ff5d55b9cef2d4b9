"""Run an exercise's reference solution the way a student's notebook would."""
from cnnlib.grading.evaluate import expected_value, judge_case, to_plain_state_dict
from cnnlib.grading.registry import get_exercise


def as_student(exercise_id: str):
    """The reference solution as a notebook would define it (setup + source), outside cnnlib."""
    exercise = get_exercise(exercise_id)
    namespace: dict = {}
    exec(compile(exercise.setup + "\n\n" + exercise.solution_source(), "<cell>", "exec"), namespace)
    return exercise, namespace[exercise.function]


def hidden_results(exercise, fn, seed: int):
    """Judge ``fn`` on the exercise's hidden cases drawn with ``seed``."""
    results = []
    for case in exercise.cases(hidden_seed=seed)[len(exercise.visible()):]:
        value = fn(*case.args, **case.kwargs)
        if exercise.returns == "state_dict":
            value = to_plain_state_dict(value)
        results.append(judge_case(exercise, case, expected_value(exercise, case), status="ok", value=value))
    return results


def _same(a, b) -> bool:
    """Exactly equal arguments (the grader's own comparison with no tolerance)."""
    from cnnlib.grading.compare import compare

    return compare(a, b, atol=0.0, rtol=0.0).passed


def train_once_and_judge_all(exercise, fn, seed: int):
    """For a ``train`` exercise: call ``fn`` once per distinct training input (the visible and
    hidden cases usually share one) and judge every case; ``[(case, result), ...]``."""
    trained: list = []  # (args, kwargs, value)
    out = []
    for case in exercise.cases(hidden_seed=seed):
        value = next((v for a, k, v in trained if _same(a, case.args) and _same(k, case.kwargs)), None)
        if value is None:
            value = to_plain_state_dict(fn(*case.args, **case.kwargs))
            trained.append((case.args, case.kwargs, value))
        out.append((case, judge_case(exercise, case, expected_value(exercise, case), status="ok", value=value)))
    return out, len(trained)
