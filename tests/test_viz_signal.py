"""cnnlib.viz.signal: the lines drawn are the tensors given, labelled, at the column width; bad shapes refused."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from cnnlib.viz.signal import plot_signal_responses  # noqa: E402
from cnnlib.widgets.static import MIN_TEXT_PX, min_text_px  # noqa: E402


def test_lines_are_the_signal_and_its_responses():
    g = torch.Generator().manual_seed(0)
    signal = torch.randn(40, generator=g)
    box = F.conv1d(signal[None, None], torch.full((1, 1, 3), 1 / 3), padding=1)[0, 0]
    fig = plot_signal_responses(signal, {"box": box, "difference": -signal.diff(prepend=signal[:1])},
                                signal_label="noise", title="t", xlabel="x", ylabel="y")
    ax = fig.axes[0]
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == ["noise", "box", "difference"]
    np.testing.assert_allclose(lines[0].get_ydata(), signal.numpy())
    np.testing.assert_allclose(lines[1].get_ydata(), box.numpy())
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == ("x", "y", "t")
    assert fig.get_figwidth() <= 7.2 and min_text_px(fig) >= MIN_TEXT_PX
    plt.close(fig)


@pytest.mark.parametrize("bad", [torch.zeros(39), torch.zeros(1, 40)])
def test_a_response_of_another_shape_is_refused(bad):
    with pytest.raises(ValueError, match="signal's length 40"):
        plot_signal_responses(torch.zeros(40), {"bad": bad})
