"""Bad input at the notebook panels (issue 8 §5): a value no control could give is refused
with a ValueError naming the valid range or choices, before any model runs."""

from __future__ import annotations

import pytest

from mrelease_ref.widgets.reap import patch1_panel, reap_kill_panel, relaunch_panel


@pytest.mark.parametrize(("panel", "name", "bad", "says"), [
    ("relaunch", "idle_rounds", 3, "0..2"),
    ("relaunch", "post_rounds", -1, "0..6"),
    ("relaunch", "config", "v9", "one of"),
    ("patch1", "large_folios", 1, "True or False"),
    ("reap_kill", "flags", 7, "one of"),
    ("reap_kill", "case", "nope", "one of"),
])
def test_a_panel_refuses_values_its_controls_cannot_give(panel: str, name: str, bad: object,
                                                         says: str) -> None:
    """A panel run with a value outside its control's range or choices raises ValueError
    naming the valid ones (what the IntSlider/Dropdown/Checkbox would allow), and a call
    missing a control is refused too; the shown result stays as it was."""
    p = {"relaunch": relaunch_panel, "patch1": patch1_panel,
         "reap_kill": reap_kill_panel}[panel]()
    shown = p.result.value
    values = {k: w.value for k, w in p.controls.items()}
    assert p.run(**values) == shown  # the controls' own values are accepted
    values[name] = bad
    with pytest.raises(ValueError, match=says):
        p.run(**values)
    with pytest.raises(ValueError, match="exactly the controls"):
        p.run(**{k: v for k, v in values.items() if k != name})
    assert p.result.value == shown
