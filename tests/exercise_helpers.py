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
