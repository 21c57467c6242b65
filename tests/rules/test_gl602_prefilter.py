"""GL602's text prefilter (session 9): parse a file only when something in it can grow.

A list's `rows.append(r)` statement is in nearly every numpy file; only `x = x.append(...)`,
`a = np.append(a, ...)`, a concat, a `.loc[len(df)]` row or a numpy join can grow a frame or an
array. The prefilter must admit every one of those and may skip the rest."""

from __future__ import annotations

import pytest

from greenlint.rules import get_rule

IMPORTS = "import numpy as np\nimport pandas as pd\n"


@pytest.mark.parametrize("line", [
    "df = df.append(row, ignore_index=True)",
    "self.frame = self.frame.append(row)",
    "df = df._append(row)",
    "a = np.append(a, x)",
    "a = numpy.append(arr=a, values=x)",
    "a = (np.append(a, x))",
    "out = pd.concat([out, piece])",
    "df.loc[len(df)] = row",
    "a = np.concatenate((a, x))",
    "a = np.vstack([a, row])",
    "a = np.row_stack([a, row])",
])
def test_every_growing_form_is_admitted(line):
    assert get_rule("GL602").could_match(IMPORTS + "for row in rows:\n    " + line + "\n")


def test_a_file_with_only_list_appends_is_skipped():
    text = IMPORTS + "rows = []\nfor x in data:\n    rows.append(np.mean(x))\n    out.append(x)\n"
    assert not get_rule("GL602").could_match(text)
