"""harmonylib.cost: the FLOPs of a training step, the measured matrix-product rate, the published peaks."""
import math

import pytest
import torch
from torch import nn

from harmonylib import cost


def test_a_linear_layers_step_costs_the_textbook_count():
    batch, inputs, hidden, outputs = 16, 40, 32, 11
    model = nn.Sequential(nn.Linear(inputs, hidden), nn.ReLU(), nn.Linear(hidden, outputs))
    forward = 2 * batch * (inputs * hidden + hidden * outputs)
    # backward: twice the forward, but the first layer needs no gradient of its input (the batch)
    backward = 2 * forward - 2 * batch * inputs * hidden
    assert cost.training_step_flops(model, torch.randn(batch, inputs)) == forward + backward


def test_a_single_linear_layers_backward_computes_only_its_weight_gradient():
    model = nn.Linear(64, 11)
    assert cost.training_step_flops(model, torch.randn(8, 64)) == 2 * (2 * 8 * 64 * 11)


def test_counting_leaves_the_model_unchanged():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.Flatten(), nn.LazyLinear(11))
    model(torch.randn(2, 1, 8, 8))  # materialise the lazy layer
    model.eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    assert cost.training_step_flops(model, torch.randn(4, 1, 8, 8)) > 0
    assert not model.training
    assert all(p.grad is None for p in model.parameters())
    after = model.state_dict()
    assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)


def test_matmul_rate_is_a_positive_finite_rate():
    rate = cost.matmul_rate("cpu", size=128, repeats=2)
    assert math.isfinite(rate) and rate > 1e6  # any CPU multiplies 128x128 matrices faster than 1 MFLOP/s


@pytest.mark.parametrize("name, dtype, peak", [
    ("NVIDIA H200", torch.bfloat16, 989.4e12),
    ("NVIDIA H100 80GB HBM3", torch.bfloat16, 989.4e12),
    ("NVIDIA H100 PCIe", torch.bfloat16, 756.5e12),
    ("NVIDIA A100-SXM4-80GB", torch.bfloat16, 312e12),
    ("NVIDIA GeForce RTX 2080 Ti", torch.float16, 107.6e12),
])
def test_published_peaks_of_known_cards(name, dtype, peak):
    found, source = cost.published_peak(name, dtype)
    assert found == peak and source


def test_unknown_devices_and_dtypes_have_no_peak_and_say_why():
    assert cost.published_peak("NVIDIA GeForce RTX 2080 Ti", torch.bfloat16)[0] is None  # Turing has no bf16
    found, reason = cost.published_peak("Some Accelerator 9000", torch.bfloat16)
    assert found is None and "Some Accelerator 9000" in reason
    found, reason = cost.peak_flops("cpu", torch.float32)
    assert found is None and "cpu" in reason
    assert cost.device_name("cpu")
