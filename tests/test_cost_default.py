"""Model time is priced by this machine's calibration unless asked otherwise.

Rule (not a kernel rule; the project's choice, README "What this is"): ``Kernel()`` prices
vm events with ``mrelease_ref.lab.calibration.calibrated_cost_model()`` (the stored
calibration of the live kernel, docs/sources.md §M6 and ``lab/data/calibration.json``);
``Kernel(cost="estimated")`` keeps the round-number estimates of ``mrelease_ref.sim.cost``;
``cost_model=`` overrides both.
"""

from __future__ import annotations

import pytest

from mrelease_ref import Kernel
from mrelease_ref.lab.calibration import calibrated_cost_model
from mrelease_ref.sim.cost import ESTIMATED_PRICES_NS, CostModel


def test_default_prices_are_the_calibrated_ones() -> None:
    """``Kernel()`` uses the stored calibration and says so."""
    k = Kernel()
    assert k.cost == "calibrated"
    assert k.cost_model == calibrated_cost_model()


def test_estimated_prices_are_an_explicit_choice() -> None:
    """``cost="estimated"`` is ``CostModel()``: the estimated list, unchanged."""
    k = Kernel(cost="estimated")
    assert k.cost == "estimated"
    assert dict(k.cost_model.prices_ns) == ESTIMATED_PRICES_NS


def test_a_custom_cost_model_wins() -> None:
    """``cost_model=`` is used as given, and ``Kernel.cost`` says "custom"."""
    cm = CostModel(prices_ns={"ZAP_PTE": 1}, step_ns=0)
    k = Kernel(cost_model=cm)
    assert k.cost_model is cm and k.cost == "custom"


def test_unknown_price_list_is_refused() -> None:
    """A misspelt price list is a ValueError naming the choices."""
    with pytest.raises(ValueError, match="calibrated"):
        Kernel(cost="measured")
