"""Rebuild the grader's adversarial corpus: ``python tests/grading_corpus/make_corpus.py``.

Writes ``base.ipynb`` (a small assignment with exercises 2.1-2.4 and 3.1-3.4,
as a chapter notebook would hold them after ``sync``) and, under
``submissions/``, one notebook per way a submission can go wrong, built from
the solution version. ``expected.json`` holds the score each must get and a
phrase its feedback must contain.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import nbformat

from cnnlib.grading.exercises.ch03 import conv_output_size
from cnnlib.grading.grader import DEFAULT_SEED
from cnnlib.grading.notebook import solution_notebook, sync_exercises
from cnnlib.grading.registry import get_exercise

HERE = Path(__file__).resolve().parent
SUBS = HERE / "submissions"
IDS = ["2.1", "2.2", "2.3", "2.4", "3.1", "3.2", "3.3", "3.4"]
POINTS = {"2.1": 2, "2.2": 3, "2.3": 2, "2.4": 2, "3.1": 2, "3.2": 1, "3.3": 1, "3.4": 2}
FULL = sum(POINTS.values())


def base_notebook() -> Path:
    nb = nbformat.v4.new_notebook()
    cells = [nbformat.v4.new_markdown_cell("# Assignment: convolution and its arithmetic"),
             nbformat.v4.new_code_cell("import torch\nimport cnnlib\n\ncnnlib.seed_everything(0)")]
    for ex in IDS:
        cells.append(nbformat.v4.new_markdown_cell(f"### Exercise {ex}\n\nWrite the function below."))
        placeholder = nbformat.v4.new_code_cell(f"# exercise {ex}")
        placeholder.metadata["cnnlib"] = {"exercise": ex}
        cells.append(placeholder)
    nb.cells = cells
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i}"
    path = HERE / "base.ipynb"
    nbformat.write(nb, path)
    sync_exercises(path)
    return path


def _stub_index(nb, ex: str) -> int:
    return next(i for i, c in enumerate(nb.cells)
                if c.metadata.get("cnnlib", {}) == {"exercise": ex, "role": "stub"})


def main() -> None:
    base = nbformat.read(base_notebook(), as_version=4)
    solved = solution_notebook(base)
    SUBS.mkdir(exist_ok=True)
    for old in SUBS.glob("*"):
        shutil.rmtree(old) if old.is_dir() and not old.is_symlink() else old.unlink()
    expected: dict[str, dict] = {}

    def save(name: str, nb, points: dict[str, float], contains: str = "") -> None:
        (SUBS / f"{name}.ipynb").parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, SUBS / f"{name}.ipynb")
        total = sum(points.values())
        expected[name] = {"points": points, "total": total, "feedback_contains": contains}

    def variant(edits: dict[str, str] | None = None, extra: list[tuple[int, str]] | None = None):
        nb = nbformat.from_dict(solved)
        for ex, src in (edits or {}).items():
            nb.cells[_stub_index(nb, ex)].source = src
        for k, (pos, src) in enumerate(extra or []):
            cell = nbformat.v4.new_code_cell(src)
            cell["id"] = f"extra-{k}"  # fixed ids: rebuilding the corpus gives the same files
            nb.cells.insert(pos, cell)
        return nb

    all_pts = dict(POINTS)
    zero = {k: 0 for k in POINTS}
    # 1. correct, and 2. untouched stubs.
    save("correct", variant(), all_pts)
    save("untouched", nbformat.from_dict(base), zero, "not attempted")
    # 3. a crash in one function (2.1): other exercises still count.
    save("crash_in_function", variant({"2.1": "def corr2d(x, k):\n    return 1 / 0"}),
         {**all_pts, "2.1": 0}, "ZeroDivisionError")
    # 4. a cell that raises at top level before everything: the rest still runs.
    save("crash_in_cell", variant(extra=[(2, "raise RuntimeError('boom')")]), all_pts, "RuntimeError: boom")
    # 5. an endless loop at top level: the cell is stopped, grading goes on.
    save("infinite_loop_cell", variant(extra=[(2, "while True:\n    pass")]), all_pts, "stopped after")
    # 6. an endless loop that swallows every interruption: the whole submission times out.
    save("infinite_loop_unstoppable", variant(extra=[(2, "while True:\n    try:\n        while True:\n            pass\n"
                                                        "    except BaseException:\n        pass")]),
         zero, "time limit")
    # 7. an endless loop inside one function: that exercise's cases time out.
    save("infinite_loop_function", variant({"3.2": "def conv2d_num_params(in_channels, out_channels, kernel_size, bias=True):\n"
                                                   "    while True:\n        pass"}),
         {**all_pts, "3.2": 0}, "took longer than")
    # 8. a memory bomb.
    save("memory_bomb", variant(extra=[(2, "blocks = []\nwhile True:\n    blocks.append(bytearray(2**28))")]),
         all_pts, "MemoryError")
    # 9. a fork bomb.
    save("fork_bomb", variant(extra=[(2, "import os\nwhile True:\n    os.fork()")]), zero, "processes")
    # 10. sys.exit in a cell: the rest of that cell is skipped, the next cells run.
    save("sys_exit", variant(extra=[(2, "import sys\nsys.exit(0)")]), all_pts, "sys.exit")
    # 11. os._exit kills the process: no results.
    save("os_exit", variant(extra=[(len(solved.cells), "import os\nos._exit(0)")]), zero, "ended the grading process")
    # 12. a flood of output.
    save("output_flood", variant(extra=[(2, "import os, sys\nfor _ in range(200_000):\n    print('x' * 1000)\n"
                                            "os.write(1, b'y' * 10_000_000)")]), all_pts)
    # 13. invalid JSON.
    (SUBS / "invalid_json.ipynb").write_text('{"cells": [ this is not json')
    expected["invalid_json"] = {"points": zero, "total": 0, "feedback_contains": "not valid JSON"}
    # 14. an old nbformat 3 notebook with correct code: converted and graded.
    v3 = nbformat.v3.new_notebook()
    v3.worksheets = [nbformat.v3.new_worksheet(cells=[nbformat.v3.new_code_cell(input=c.source)
                                                     for c in solved.cells if c.cell_type == "code"])]
    (SUBS / "old_nbformat_v3.ipynb").write_text(nbformat.v3.nbjson.writes(v3))
    expected["old_nbformat_v3"] = {"points": all_pts, "total": FULL, "feedback_contains": "converted from nbformat 3"}
    # 15. a renamed function.
    src = solved.cells[_stub_index(solved, "2.2")].source.replace("def conv2d_multi(", "def my_conv(")
    save("renamed_function", variant({"2.2": src}), {**all_pts, "2.2": 0}, "no function named conv2d_multi")
    # 16. a deleted exercise cell (2.3): its placeholder metadata is gone too.
    nb = variant()
    del nb.cells[_stub_index(nb, "2.3")]
    nb.cells = [c for c in nb.cells if c.metadata.get("cnnlib", {}).get("exercise") != "2.3"]
    save("deleted_cell", nb, {**all_pts, "2.3": 0}, "no function named convolve2d")
    # 17. patching torch and numpy comparisons: no effect, the parent compares.
    save("patch_torch_numpy", variant({"2.1": "import torch, numpy\n"
                                             "torch.allclose = lambda *a, **k: True\n"
                                             "torch.equal = lambda *a, **k: True\n"
                                             "numpy.testing.assert_allclose = lambda *a, **k: None\n"
                                             "torch.Tensor.__eq__ = lambda self, other: True\n\n"
                                             "def corr2d(x, k):\n    return torch.zeros(1)"}),
         {**all_pts, "2.1": 0}, "shape (1,)")
    # 18. patching the checker in the child: no effect.
    save("patch_checker", variant({"2.4": "import torch\nimport cnnlib.grading as g\nimport cnnlib.grading.compare as c\n"
                                          "c.compare = lambda *a, **k: c.Comparison(True)\n"
                                          "g.check = lambda *a, **k: print('all checks pass')\n\n"
                                          "def conv1x1(x, weight):\n    return x"}),
         {**all_pts, "2.4": 0})
    # 19. forging a result file and printing fake JSON.
    forge = ("import json, os\nfake = {'nonce': 'guess', 'exercises': {}}\n"
             "print(json.dumps({'2.1': 2, '2.2': 3, 'total': 100}))\n"
             "os.makedirs('out', exist_ok=True)\n"
             "open('out/result.json', 'w').write(json.dumps(fake))\nopen('out/arrays.npz', 'wb').write(b'')\n"
             "os._exit(0)")
    save("forge_results", variant(extra=[(len(solved.cells), forge)]), zero, "ended the grading process")
    # 20. searching the disk for the hidden tests and the grader's secrets: finds nothing
    #     (if it found anything it would end the process, losing every point).
    snoop = ("import os\nfound = []\n"
             "for top in ['/tmp', '/root', '/home']:\n"
             "    for dirpath, dirnames, filenames in os.walk(top):\n"
             "        if dirpath.count(os.sep) > 6:\n            dirnames[:] = []\n"
             "        for name in filenames:\n"
             "            if name.endswith('.py') and 'hidden' in dirpath:\n"
             "                try:\n                    found.append(open(os.path.join(dirpath, name)).read())\n"
             "                except OSError:\n                    pass\n"
             "for pid in os.listdir('/proc'):\n"
             "    try:\n        found.append(open(f'/proc/{pid}/environ').read()) if pid.isdigit() and pid != str(os.getpid()) else None\n"
             "    except OSError:\n        pass\n"
             "found = [f for f in found if f and 'CASES' in f or 'SECRET' in (f or '')]\n"
             "if found:\n    os._exit(0)\n")
    save("read_hidden_tests", variant(extra=[(len(solved.cells), snoop)]), all_pts)
    # 21. calling torch.nn.functional.conv2d where 2.1 forbids it.
    save("forbidden_F_conv2d", variant({"2.1": "import torch\nimport torch.nn.functional as F\n\n"
                                               "def corr2d(x, k):\n    return F.conv2d(x[None, None], k[None, None])[0, 0]"}),
         {**all_pts, "2.1": 0}, "aten::convolution")
    # 22. calling the library's own solution, under another name.
    save("forbidden_library_solution", variant({"2.2": "from cnnlib.grading.exercises import ch02\n"
                                                       "solve = ch02.conv2d_multi\n\n"
                                                       "def conv2d_multi(x, weight):\n    return solve(x, weight)"}),
         {**all_pts, "2.2": 0}, "forbidden")
    # 23. nn.Conv2d via a module, hidden behind getattr.
    save("forbidden_nn_module", variant({"2.3": "import torch\n\n"
                                                "def convolve2d(x, k):\n"
                                                "    layer = getattr(torch.nn, 'Con' + 'v2d')(1, 1, k.shape, bias=False)\n"
                                                "    layer.weight.data = torch.flip(k, (0, 1))[None, None]\n"
                                                "    return layer(x[None, None])[0, 0].detach()"}),
         {**all_pts, "2.3": 0}, "forbidden")
    # 24. measuring the output size with a real convolution in a formula exercise.
    save("forbidden_measure_formula", variant({"3.1": "import torch\n\n"
                                                      "def conv_output_size(size, kernel_size, stride=1, padding=0, dilation=1):\n"
                                                      "    x = torch.zeros(1, 1, size)\n"
                                                      "    w = torch.zeros(1, 1, kernel_size)\n"
                                                      "    return torch.nn.functional.conv1d(x, w, stride=stride, padding=padding, dilation=dilation).shape[-1]"}),
         {**all_pts, "3.1": 0}, "forbidden")
    # 25. switching the tripwire off before calling conv2d.
    save("tamper_tripwire", variant({"2.4": "import sys, torch\n\n"
                                            "def conv1x1(x, weight):\n"
                                            "    sys.setprofile(None)\n"
                                            "    with torch._C._DisableTorchDispatch():\n"
                                            "        return torch.nn.functional.conv2d(x[None], weight[:, :, None, None])[0]"}),
         {**all_pts, "2.4": 0, "2.1": 0, "2.2": 0, "2.3": 0, "3.1": 0, "3.2": 0, "3.3": 0, "3.4": 0}, "tamper")
    # 26. returning a plausible wrong answer (off by one in the formula): partial credit only where right.
    wrong = ("def conv_output_size(size, kernel_size, stride=1, padding=0, dilation=1):\n"
             "    return (size + 2 * padding - kernel_size) // stride + 1")
    namespace: dict = {}
    exec(wrong, namespace)
    cases = get_exercise("3.1").cases(hidden_seed=DEFAULT_SEED)
    right = sum(namespace["conv_output_size"](*c.args, **c.kwargs) == conv_output_size(*c.args, **c.kwargs) for c in cases)
    save("wrong_formula", variant({"3.1": wrong}), {**all_pts, "3.1": round(2 * right / len(cases), 2)}, "3.1:")
    # 27. returning something that cannot be sent back (a function), and a NumPy array instead of a tensor.
    save("unsendable_values", variant({"2.1": "def corr2d(x, k):\n    return lambda: 0",
                                       "2.4": "def conv1x1(x, weight):\n    return (weight @ x.reshape(x.shape[0], -1)).reshape(-1, *x.shape[1:]).numpy()"}),
         {**all_pts, "2.1": 0, "2.4": 0}, "cannot be graded")
    # 28. IPython syntax: a function defined under %%time, shell commands and line magics.
    src = solved.cells[_stub_index(solved, "2.4")].source
    save("ipython_magics", variant({"2.4": "%%time\n" + src}, extra=[(2, "!pip install nothing-at-all\n%matplotlib inline\n"
                                                                         "%time y = 1 + 1")]), all_pts)
    # 29. filling the shared disk: writes stop at a small private /tmp, /var/tmp and /dev/shm.
    fill = ("import os\nfor d in ['/tmp', '/var/tmp', '/dev/shm']:\n    try:\n        for i in range(100):\n"
            "            with open(os.path.join(d, f'fill{i}'), 'wb') as f:\n                f.write(b'x' * 60_000_000)\n"
            "    except OSError:\n        pass\n")
    save("disk_flood", variant(extra=[(2, fill)]), all_pts)
    # 30. vandalism: dropping files into the library, the repository and the shared folders,
    #     and breaking into the other job slot to forge or lock another student's results.
    vandal = ("import glob, os, time\nimport cnnlib\n\n"
              "lib = os.path.dirname(cnnlib.__file__)\nwork = os.getcwd()\n"
              "stage = os.path.dirname(os.path.dirname(os.path.dirname(work)))\n"
              "for place in [lib, os.path.dirname(lib), stage, '/tmp', '/var/tmp']:\n"
              "    try:\n        with open(os.path.join(place, 'VANDALIZED'), 'w') as f:\n            f.write('x')\n"
              "    except OSError:\n        pass\n"
              "end = time.monotonic() + 3\n"
              "while time.monotonic() < end:\n"
              "    for other in glob.glob(os.path.join(stage, 'slot*', '*', 'work')):\n"
              "        if other != work:\n"
              "            try:\n"
              "                os.makedirs(os.path.join(other, 'out'), exist_ok=True)\n"
              "                with open(os.path.join(other, 'out', 'result.json'), 'w') as f:\n"
              "                    f.write('{\"nonce\": \"forged\", \"exercises\": {}}')\n"
              "                os.chmod(other, 0)\n"
              "            except OSError:\n                pass\n"
              "    time.sleep(0.05)\n")
    save("vandal", variant(extra=[(2, vandal)]), all_pts)
    adversarial_class(save, variant, solved, base, all_pts, zero, expected)
    (HERE / "expected.json").write_text(json.dumps(expected, indent=1, sort_keys=True) + "\n")
    print(f"wrote {len(expected)} submissions")


def adversarial_class(save, variant, solved, base, all_pts, zero, expected) -> None:
    """Submissions 31-48: the fourteen holes an adversarial class found (issue 10)."""
    end = len(solved.cells)
    # 1. a helper thread, started by a cell, does the forbidden work for 2.1 and 2.2:
    #    every call made while it runs is refused.
    helper = ("import queue, threading\nimport torch.nn.functional as F\n\n"
              "jobs, answers = queue.Queue(), queue.Queue()\n\n"
              "def _serve():\n    while True:\n        x, k = jobs.get()\n"
              "        answers.put(F.conv2d(x, k))\n\n"
              "threading.Thread(target=_serve, daemon=True).start()")
    save("thread_helper", variant({"2.1": "def corr2d(x, k):\n    jobs.put((x[None, None], k[None, None]))\n"
                                          "    return answers.get()[0, 0]",
                                   "2.2": "def conv2d_multi(x, weight):\n    jobs.put((x[None], weight))\n"
                                          "    return answers.get()[0]"}, extra=[(2, helper)]),
         zero, "other thread")
    #    ... and a thread started inside the graded function.
    save("thread_in_call", variant({"2.1": "import threading\nimport torch.nn.functional as F\n\n"
                                           "def corr2d(x, k):\n    out = []\n"
                                           "    t = threading.Thread(target=lambda: out.append(F.conv2d(x[None, None], k[None, None])))\n"
                                           "    t.start()\n    t.join()\n    return out[0][0, 0]"}),
         {**all_pts, "2.1": 0}, "thread")
    # 2. the reference solution's code object, rebound to the notebook's globals.
    save("rebound_code", variant({"2.2": "import types\nfrom cnnlib.grading.exercises import ch02\n\n"
                                         "conv2d_multi = types.FunctionType(getattr(ch02.conv2d_multi, '__co' + 'de__'), "
                                         "globals(), 'conv2d_multi')"}),
         {**all_pts, "2.2": 0}, "forbidden")
    # 3. the C routines behind the forbidden numpy.correlate and numpy.convolve.
    routines = ("import numpy as np\nimport torch\n\n"
                "_c = getattr(np, '_co' + 're', None) or getattr(np, 'co' + 're')\n"
                "_corr = getattr(_c.multiarray, 'correlate' + '2')\n_conv = getattr(_c.multiarray, 'correlate')\n\n")
    save("numpy_c_routine", variant({
        "2.1": routines + "def corr2d(x, k):\n    x, k = x.numpy().astype('float64'), k.numpy().astype('float64')\n"
                          "    rows = [sum(_corr(x[i + a], k[a], 0) for a in range(k.shape[0]))\n"
                          "            for i in range(x.shape[0] - k.shape[0] + 1)]\n"
                          "    return torch.tensor(np.array(rows), dtype=torch.float32)",
        "2.3": routines + "def convolve2d(x, k):\n    x, k = x.numpy().astype('float64'), k.numpy()[::-1, ::-1].astype('float64')\n"
                          "    rows = [sum(_conv(x[i + a], k[a], 0) for a in range(k.shape[0]))\n"
                          "            for i in range(x.shape[0] - k.shape[0] + 1)]\n"
                          "    return torch.tensor(np.array(rows), dtype=torch.float32)"}),
         {**all_pts, "2.1": 0, "2.3": 0}, "forbidden")
    # 4. a cell reads every input (visible and hidden) from the working directory and
    #    answers 2.1 with the library's convolution before the function is called ...
    peek = ("import glob, json, os\nimport numpy as np\nimport torch\nimport torch.nn.functional as F\n\n"
            "table = {}\nfor path in glob.glob('*.npz') + glob.glob('*/*.npz'):\n"
            "    try:\n        arrays = dict(np.load(path))\n    except Exception:\n        continue\n"
            "    for a in arrays.values():\n        for b in arrays.values():\n"
            "            if a.ndim == 2 and b.ndim == 2 and a.shape[0] >= b.shape[0] and a.shape[1] >= b.shape[1]:\n"
            "                x, k = torch.from_numpy(a), torch.from_numpy(b)\n"
            "                table[(a.tobytes(), b.tobytes())] = F.conv2d(x[None, None], k[None, None])[0, 0]\n")
    save("read_inputs_early", variant({"2.1": "import torch\n\ndef corr2d(x, k):\n"
                                              "    return table.get((x.numpy().tobytes(), k.numpy().tobytes()), torch.zeros(1))"},
                                      extra=[(end, peek)]),
         {**all_pts, "2.1": 0}, "2.1:")
    #    ... or asks for the inputs itself, pretending the cells are done.
    ask = ("import os, time\nopen('cells.done', 'w').close()\nend = time.monotonic() + 5\n"
           "while not os.path.exists('inputs.ready') and time.monotonic() < end:\n    time.sleep(0.05)\n"
           "stolen = sorted(os.listdir('.'))")
    save("request_inputs_early", variant(extra=[(end, ask)]), zero, "before the cells had finished")
    # 5. returning a tensor and filling it (and dropping the violations) later, from
    #    patched functions that the code writing the results might call.
    fill = ("import json, zipfile\nimport numpy as np\nimport torch\nimport torch.nn.functional as F\n\n"
            "pending = []\n\ndef _fill():\n    while pending:\n        x, w, out = pending.pop()\n"
            "        out.copy_(F.conv2d(x, w)[0])\n\n"
            "def _forget(obj):\n    if isinstance(obj, dict):\n        obj.pop('violations', None)\n"
            "        for v in obj.values():\n            _forget(v)\n    elif isinstance(obj, list):\n"
            "        for v in obj:\n            _forget(v)\n\n"
            "def _patch(owner, name):\n    original = getattr(owner, name)\n"
            "    def patched(*args, **kwargs):\n        _fill()\n        _forget(args[0] if args else None)\n"
            "        return original(*args, **kwargs)\n    setattr(owner, name, patched)\n\n"
            "_patch(json, 'dumps')\n_patch(np, 'savez')\n_patch(np.lib.format, 'write_array')\n"
            "_patch(zipfile.ZipFile, 'writestr')\n")
    save("fill_after_return", variant({
        "2.1": "import torch\n\ndef corr2d(x, k):\n    out = torch.zeros(x.shape[0] - k.shape[0] + 1, x.shape[1] - k.shape[1] + 1)\n"
               "    pending.append((x[None, None].clone(), k[None, None].clone(), out[None]))\n    return out",
        "2.4": "import torch\nimport torch.nn.functional as F\n\ndef conv1x1(x, weight):\n"
               "    try:\n        F.conv2d(x[None], weight[:, :, None, None])\n    except Exception:\n        pass\n"
               "    out = torch.zeros(weight.shape[0], *x.shape[1:])\n"
               "    pending.append((x[None].clone(), weight[:, :, None, None].clone(), out))\n    return out"},
        extra=[(end, fill)]),
         {**all_pts, "2.1": 0, "2.4": 0}, "aten::conv")
    # 6. exercise markers that are digits to str.isdigit() but not to int(), and metadata
    #    nested 100,000 deep: each costs only its own notebook.
    nb = variant(extra=[(2, "x = 1")])
    nb.cells[2].metadata["cnnlib"] = {"exercise": "\u00b21"}
    nb.cells[3].metadata["cnnlib"] = {"exercise": "\u0662.\u0661"}
    save("odd_exercise_ids", nb, all_pts, "ignored exercise markers")
    text = nbformat.writes(variant())
    deep = '{"a": ' * 100_000 + "1" + "}" * 100_000
    (SUBS / "deep_metadata.ipynb").write_text(text.replace('"metadata": {', '"metadata": {"deep": ' + deep + ", ", 1))
    expected["deep_metadata"] = {"points": zero, "total": 0, "feedback_contains": "nested too deeply"}
    # 7. a chapter 2-3 notebook that also marks exercises of chapters 1 and 6.
    nb = variant()
    for k, ex in enumerate(("1.1", "1.2", "6.1", "6.4")):
        cell = nbformat.v4.new_code_cell(f"# exercise {ex}")
        cell.metadata["cnnlib"] = {"exercise": ex}
        cell["id"] = f"foreign-{k}"
        nb.cells.append(cell)
    save("other_chapters", nb, all_pts, "chapters this assignment does not have")
    # 8. a 185 kB cell of 30,000 lines, 600 of them %time magics.
    lines = ["%time x = 1" if i % 50 == 0 else "x = 1" for i in range(30_000)]
    save("huge_cell", variant(extra=[(2, "\n".join(lines))]), all_pts, "are not run")
    # 9. a result archive of two deflated members of 1 GiB of zeros each (a 2 MB file).
    bomb = r"""import os, struct, zlib

def member(name, offset, gib=1):
    size = gib * 2**30
    header = b"{'descr': '|u1', 'fortran_order': False, 'shape': (%d,), }" % (size - 128)
    header = b"\x93NUMPY\x01\x00" + struct.pack("<H", 118) + header.ljust(117) + b"\n"
    c = zlib.compressobj(1, zlib.DEFLATED, -15)
    head = c.compress(header + bytes(2**20 - 128)) + c.flush(zlib.Z_FULL_FLUSH)
    block = c.compress(bytes(2**20)) + c.flush(zlib.Z_FULL_FLUSH)
    data = head + block * (gib * 1024 - 1) + c.flush()
    raw = name.encode()
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, 0, len(data), size, len(raw), 0) + raw
    central = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0x21, 0, len(data), size,
                          len(raw), 0, 0, 0, 0, 0, offset) + raw
    return local + data, central

os.makedirs("out", exist_ok=True)
bodies, centrals, offset = [], [], 0
for name in ("a0.npy", "a1.npy"):
    body, central = member(name, offset)
    bodies.append(body)
    centrals.append(central)
    offset += len(body)
directory = b"".join(centrals)
end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 2, 2, len(directory), offset, 0)
with open("out/arrays.npz", "wb") as f:
    f.write(b"".join(bodies) + directory + end)
with open("out/result.json", "w") as f:
    f.write('{"nonce": "guess", "exercises": {}}')
os._exit(0)
"""
    save("zip_bomb_result", variant(extra=[(end, bomb)]), zero, "no results")
    # 10. without root: kill the fork server, stop the grader, and leave a daemon that kills
    #     every later child (for a minute at most); none of it may reach another student.
    attack = ("import os, signal, time\n\n"
              "def _cmd(pid):\n    try:\n        return open(f'/proc/{pid}/cmdline', 'rb').read().replace(b'\\0', b' ')\n"
              "    except OSError:\n        return b''\n\n"
              "def _others():\n    me = os.getpid()\n"
              "    return [int(p) for p in os.listdir('/proc') if p.isdigit() and int(p) != me]\n\n"
              "for pid in _others():\n    cmd = _cmd(pid)\n    try:\n"
              "        if b'runner' in cmd or b'serve' in cmd:\n            os.kill(pid, signal.SIGKILL)\n"
              "        elif b'cnnlib.grading' in cmd:\n            os.kill(pid, signal.SIGSTOP)\n"
              "    except OSError:\n        pass\n"
              "if os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
              "        end = time.monotonic() + 60\n        while time.monotonic() < end:\n"
              "            for pid in _others():\n                if b'runner' in _cmd(pid) and pid != os.getppid():\n"
              "                    try:\n                        os.kill(pid, signal.SIGKILL)\n"
              "                    except OSError:\n                        pass\n"
              "            time.sleep(0.05)\n"
              "    os._exit(0)\n")
    save("kill_the_grader", variant(extra=[(2, attack)]), all_pts)
    # 14. reading the grader's command line (the --tests path, every file name) in /proc.
    snoop = ("import os\nleak = []\nfor pid in os.listdir('/proc'):\n    if not pid.isdigit():\n        continue\n"
             "    for part in ('cmdline', 'environ'):\n        try:\n"
             "            text = open(f'/proc/{pid}/{part}', 'rb').read()\n        except OSError:\n            continue\n"
             "        if b'.ipynb' in text or b'--tests' in text or b'hidden_tests' in text:\n            leak.append(pid)\n"
             "if leak:\n    os._exit(0)\n")
    save("read_command_lines", variant(extra=[(end, snoop)]), all_pts)
    # 11. a file name that a spreadsheet would run as a formula.
    save("=2+5+cmd|' -C calc'!A0", variant(), all_pts)
    # 12. a link to another student's notebook.
    os.symlink("correct.ipynb", SUBS / "link_to_correct.ipynb")
    expected["link_to_correct"] = {"points": zero, "total": 0, "feedback_contains": "symbolic link"}
    # 13. two students with the same folder and file name under different parents.
    save("dupA/x/alice", variant(), all_pts)
    save("dupB/x/alice", nbformat.from_dict(base), zero, "not attempted")


if __name__ == "__main__":
    main()
