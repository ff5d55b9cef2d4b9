"""train_steps against a loop written out here; the CIFAR ResNets' widths; the loss-panel figure."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from cnnlib.models import count_parameters, create_model  # noqa: E402
from cnnlib.train import train_steps  # noqa: E402
from cnnlib.viz import moving_average, plot_loss_panels  # noqa: E402
from cnnlib.widgets.static import min_text_px  # noqa: E402


def small_net() -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 3))


def test_train_steps_matches_a_written_out_sgd_loop():
    data = torch.Generator().manual_seed(0)
    images, labels = torch.randn(40, 1, 4, 4, generator=data), torch.randint(0, 3, (40,), generator=data)
    torch.manual_seed(1)
    ours = small_net()
    ref = small_net()
    ref.load_state_dict(ours.state_dict())
    start = [p.detach().clone() for p in ours.parameters()]
    losses = train_steps(ours, images, labels, steps=7, batch_size=5, lr=0.1, momentum=0.9, weight_decay=1e-3, seed=3)
    opt = torch.optim.SGD(ref.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3)
    g = torch.Generator().manual_seed(3)
    expected = []
    for _ in range(7):
        i = torch.randint(0, 40, (5,), generator=g)
        loss = nn.functional.cross_entropy(ref(images[i]), labels[i])
        opt.zero_grad()
        loss.backward()
        opt.step()
        expected.append(loss.item())
    assert losses == pytest.approx(expected, rel=1e-6)
    for a, b in zip(ours.parameters(), ref.parameters()):
        torch.testing.assert_close(a, b)
    assert all(not torch.equal(a, b) for a, b in zip(start, ours.parameters()))  # it did train


def test_train_steps_rejects_bad_arguments():
    with pytest.raises(ValueError, match="steps"):
        train_steps(small_net(), torch.randn(4, 1, 4, 4), torch.zeros(4, dtype=torch.long), steps=0)
    with pytest.raises(ValueError, match="same number"):
        train_steps(small_net(), torch.randn(4, 1, 4, 4), torch.zeros(3, dtype=torch.long), steps=1)


def test_cifar_widths_keep_the_twins_equal_and_default_to_the_paper():
    narrow = create_model("cifar_resnet20", in_channels=1, input_size=8, widths=(4, 8, 16))
    plain = create_model("cifar_plain20", in_channels=1, input_size=8, widths=(4, 8, 16))
    assert count_parameters(narrow) == count_parameters(plain)
    assert narrow(torch.randn(2, 1, 8, 8)).shape == (2, 10)
    assert narrow.layer3[0].conv1.out_channels == 16
    assert count_parameters(create_model("cifar_resnet20")) == count_parameters(
        create_model("cifar_resnet20", widths=(16, 32, 64)))
    with pytest.raises(ValueError, match="3 channel counts"):
        create_model("cifar_plain20", widths=(4, 8))
    with pytest.raises(ValueError, match="shrink"):
        create_model("cifar_resnet20", widths=(16, 8, 4))


def test_moving_average_and_loss_panels():
    np.testing.assert_allclose(moving_average([1, 2, 3, 4], 2), [1.5, 2.5, 3.5])
    with pytest.raises(ValueError, match="window"):
        moving_average([1, 2], 3)
    fig = plot_loss_panels({"plain": {"20": [3, 2, 1] * 5, "56": [3, 3, 2] * 5}, "residual": {"20": [1] * 15}},
                           window=3, title="t")
    assert [ax.get_title() for ax in fig.axes] == ["plain", "residual"]
    assert fig.axes[0].get_ylabel() and fig.axes[0].get_xlabel() == "step"
    assert len(fig.axes[0].lines) == 2 and len(fig.axes[0].lines[0].get_xdata()) == 13
    assert fig.get_figwidth() <= 7.2 and min_text_px(fig) >= 9
    plt.close(fig)
    with pytest.raises(ValueError, match="panels"):
        plot_loss_panels({})
