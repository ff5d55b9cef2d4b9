"""Figures of chapters 1 and 6: they draw what they say, and explain bad input."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from cnnlib.features import hog_image
from cnnlib.train import History
from cnnlib.viz.equivariance import plot_equivariance, plot_equivariance_curves
from cnnlib.models import count_parameters, create_model
from cnnlib.train import plot_confusion_matrix, plot_misclassified
from cnnlib.viz import COLUMN_WIDTH, Table, layer_table
from cnnlib.viz.features import (
    plot_accuracy_vs_shift,
    plot_accuracy_vs_train_size,
    plot_filters,
    plot_flattening,
    plot_hog,
    plot_image_row,
)
from cnnlib.viz.training import plot_augmentations, plot_histories, plot_softmax


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _titled(fig):
    return fig._suptitle is not None and fig._suptitle.get_text()


def test_image_row_and_flattening():
    images = torch.rand(3, 1, 8, 8)
    fig = plot_image_row(images, ["a", "b", "c"], suptitle="row")
    assert _titled(fig) == "row" and [ax.get_title() for ax in fig.axes] == ["a", "b", "c"]
    with pytest.raises(ValueError, match="2 titles for 3 images"):
        plot_image_row(images, ["a", "b"])
    fig = plot_flattening(images[0], torch.randperm(64))
    assert len(fig.axes) == 3
    with pytest.raises(ValueError, match="permutation"):
        plot_flattening(images[0], torch.arange(10))


def test_hog_figure_checks_shapes():
    image = torch.zeros(1, 32, 32)
    image[:, 8:24, 8:24] = 1
    _, picture = hog_image(image)
    fig = plot_hog(image, picture, cell=(4, 4))
    assert "4x4" in fig.axes[1].get_title()
    with pytest.raises(ValueError, match="must match"):
        plot_hog(image, picture[:16])


def test_accuracy_and_equivariance_curves_plot_every_series():
    fig = plot_accuracy_vs_shift([0, 1, 2], {"a": [1.0, 0.5, 0.2], "b": [0.9, 0.9, 0.9]})
    ax = fig.axes[0]
    assert [tuple(line.get_ydata()) for line in ax.lines[:2]] == [(100.0, 50.0, 20.0), (90.0, 90.0, 90.0)]
    with pytest.raises(ValueError, match="2 accuracies for 3 shifts"):
        plot_accuracy_vs_shift([0, 1, 2], {"a": [1.0, 0.5]})
    fig = plot_equivariance_curves([0, 1], {"conv": [0.0, 0.0]})
    assert fig.axes[0].get_ylabel().startswith("relative error")
    with pytest.raises(ValueError, match="1 errors for 2 shifts"):
        plot_equivariance_curves([0, 1], {"conv": [0.0]})


def test_equivariance_figure_shows_zero_difference_for_a_convolution():
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(1, 2, 3, padding=1)
    x = torch.zeros(1, 1, 20, 20)
    x[..., 6:12, 7:10] = 1.0
    def difference_title(fig):
        (title,) = [ax.get_title() for ax in fig.axes if ax.get_title().startswith("difference")]
        return title

    fig = plot_equivariance(conv, x, (2, 3))
    assert "max |d| = 0)" in difference_title(fig)
    fig = plot_equivariance(torch.nn.MaxPool2d(2), x, (1, 1), stride=2)
    assert "max |d| = 0)" not in difference_title(fig)
    with pytest.raises(ValueError, match="one image"):
        plot_equivariance(conv, torch.zeros(2, 1, 8, 8), (1, 1))


def test_filters_figure_one_panel_per_filter():
    fig = plot_filters(torch.randn(5, 1, 3, 3), columns=4)
    titled = [ax for ax in fig.axes if ax.get_title().startswith("filter")]
    assert len(titled) == 5
    with pytest.raises(ValueError, match="C_out, C_in"):
        plot_filters(torch.randn(5, 3, 3))


def test_softmax_figure_bars_are_the_probabilities():
    logits = torch.tensor([1.0, 2.0, 3.0])
    fig = plot_softmax(logits, ["a", "b", "c"], temperatures=(1.0, 2.0))
    heights = [patch.get_height() for patch in fig.axes[1].patches]
    np.testing.assert_allclose(heights, torch.softmax(logits, 0).numpy(), rtol=1e-6)
    heights_t2 = [patch.get_height() for patch in fig.axes[2].patches]
    np.testing.assert_allclose(heights_t2, torch.softmax(logits / 2, 0).numpy(), rtol=1e-6)
    with pytest.raises(ValueError, match="2 class names for 3 logits"):
        plot_softmax(logits, ["a", "b"])
    with pytest.raises(ValueError, match=r"\(C,\)"):
        plot_softmax(torch.zeros(2, 3))


def test_augmentation_figure_leaves_the_random_state_alone():
    images = torch.rand(2, 1, 8, 8)
    before = torch.get_rng_state()
    fig = plot_augmentations(images, lambda x: x.flip(-1), copies=3)
    assert torch.equal(before, torch.get_rng_state())
    assert len(fig.axes) == 2 * 4
    with pytest.raises(ValueError, match="grayscale"):
        plot_augmentations(torch.rand(2, 3, 8, 8), lambda x: x)


def test_histories_figure_needs_validation_curves():
    run = History()
    for epoch in range(3):
        run.append(train_loss=1.0 / (epoch + 1), train_acc=0.5 + 0.1 * epoch, lr=0.1, seconds=1.0,
                   val_loss=1.2 / (epoch + 1), val_acc=0.45 + 0.1 * epoch)
    fig = plot_histories({"a": run, "b": run})
    assert len(fig.axes[0].lines) == 4  # validation and training, per run
    with pytest.raises(ValueError, match="no validation curve"):
        plot_histories({"empty": History()})


def _history(epochs=3):
    run = History()
    for epoch in range(epochs):
        run.append(train_loss=1.0 / (epoch + 1), train_acc=0.5 + 0.1 * epoch, lr=0.1, seconds=1.0,
                   val_loss=1.2 / (epoch + 1), val_acc=0.45 + 0.1 * epoch)
    return run


def test_every_figure_fits_the_column():
    """Drawn no wider than the page's column, so the page never shrinks it (and its text)."""
    images = torch.rand(16, 1, 8, 8)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10))
    _, picture = hog_image(torch.rand(1, 32, 32))
    figures = {
        "image row": plot_image_row(images[:12]),
        "flattening": plot_flattening(images[0], torch.randperm(64)),
        "hog": plot_hog(torch.rand(1, 32, 32), picture),
        "shift curves": plot_accuracy_vs_shift([0, 1], {f"m{i}": [0.5, 0.4] for i in range(5)}),
        "size curves": plot_accuracy_vs_train_size([10, 100], {"a": torch.rand(2, 3)}),
        "equivariance": plot_equivariance(torch.nn.Conv2d(1, 1, 3, padding=1), torch.rand(1, 1, 20, 20), (1, 2)),
        "filters": plot_filters(torch.randn(16, 1, 3, 3)),
        "softmax": plot_softmax(torch.randn(10), temperatures=(1.0, 10.0)),
        "augmentations": plot_augmentations(torch.rand(3, 1, 28, 28), lambda x: x, copies=8),
        "histories": plot_histories({"a": _history(), "b": _history()}),
        "history": _history().plot(),
        "confusion": plot_confusion_matrix(torch.randint(0, 9, (10, 10))),
        "mistakes": plot_misclassified(model, (images, torch.randint(0, 10, (16,))), max_images=16, ncols=8),
    }
    for name, fig in figures.items():
        fig.canvas.draw()  # constrained layout and legends are placed now
        width = fig.get_window_extent().width / fig.dpi
        tight = fig.get_tightbbox().width
        assert width <= COLUMN_WIDTH + 1e-6 and tight <= COLUMN_WIDTH + 0.05, (name, width, tight)
        sizes = [t.get_fontsize() for t in fig.findobj(matplotlib.text.Text) if t.get_text() and t.get_visible()]
        assert min(sizes) >= 6.5, (name, min(sizes))  # 6.5 pt at 100 dpi is 9 px


def test_accuracy_vs_train_size_figure_draws_the_seed_mean():
    accuracies = torch.tensor([[0.5, 0.7, 0.6], [0.9, 0.8, 1.0]])
    fig = plot_accuracy_vs_train_size([10, 100], {"cnn": accuracies})
    (line,) = fig.axes[0].lines
    np.testing.assert_allclose(line.get_ydata(), 100 * accuracies.mean(dim=1).numpy(), rtol=1e-6)
    with pytest.raises(ValueError, match="one row of accuracies per size"):
        plot_accuracy_vs_train_size([10, 100, 1000], {"cnn": accuracies})


def test_table_renders_html_and_text():
    table = Table(["model", "params", "acc"], [["MLP", 16714, 0.9312], ["CNN <b>", 37706, 0.97]],
                  footer=[["total", 54420, None]])
    html = table._repr_html_()
    assert html.count("<tr>") == 4 and "16,714" in html and "0.931" in html
    assert "CNN &lt;b&gt;" in html  # text is escaped
    assert '<td style="text-align: right; padding: 0.15em 0.4em">37,706</td>' in html
    text = str(table).splitlines()
    assert text[0].split() == ["model", "params", "acc"] and text[2].split() == ["MLP", "16,714", "0.931"]
    with pytest.raises(ValueError, match="row 1 has 2 values for 3 columns"):
        Table(["a", "b", "c"], [[1, 2, 3], [1, 2]])


@pytest.mark.parametrize("name", ["lenet5", "keras_cnn", "simple_cnn"])
def test_layer_table_adds_up_to_pytorch_count(name):
    model = create_model(name)
    table = layer_table(model)
    assert sum(row[3] for row in table.rows) == count_parameters(model) == table.footer[0][3]
    convs = [row for row in table.rows if row[1] == "Conv2d"]
    assert convs and all(row[2].startswith("[1, ") for row in convs)
    names = dict(model.named_modules())
    assert all(row[0] in names and type(names[row[0]]).__name__ == row[1] for row in table.rows)
