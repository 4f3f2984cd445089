"""The dashboard filter bar's query parameters as DashboardFilters: empty clears a choice, a bad choice is a
422 naming its parameter (D7), an owner id that cannot be a user never reaches the database."""

from __future__ import annotations

import pytest

from builder_ui.pages.dashboards import MAX_ID, chosen_filters, pivot_point
from engine.core.errors import ValidationFailed


def test_no_choice_keeps_the_defaults_and_empty_clears_one() -> None:
    assert chosen_filters(None, None, None) is None
    cleared = chosen_filters("", "", "")
    assert cleared is not None and (cleared.relative, cleared.teams, cleared.owners) == (None, [], [])
    chosen = chosen_filters("this_quarter", "east", "7")
    assert chosen is not None and (chosen.relative, chosen.teams, chosen.owners) == ("this_quarter", ["east"], [7])


@pytest.mark.parametrize(
    ("relative", "team", "owner", "path"),
    [
        ("someday", None, None, "/relative"),
        (None, "<script>", None, "/team"),
        (None, None, str(MAX_ID + 1), "/owner"),
        (None, None, "\uff11", "/owner"),  # a full-width digit one is no id
        (None, None, "-3", "/owner"),
    ],
)
def test_a_bad_choice_is_a_422_at_its_parameter(relative: str | None, team: str | None, owner: str | None, path: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        chosen_filters(relative, team, owner)
    assert [e.path for e in caught.value.errors] == [path]


def test_a_pivot_subtotal_cell_drills_with_the_keys_it_names() -> None:
    data = {"row_dims": [{"key": "region"}, {"key": "team"}], "column_dims": [{"key": "stage"}]}
    assert pivot_point(data, {"key": ["east", "t1"]}, {"key": ["won"]}) == {"region": "east", "team": "t1", "stage": "won"}
    assert pivot_point(data, {"key": ["east"]}, {"key": []}) == {"region": "east"}
