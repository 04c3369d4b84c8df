"""ColumnRows builds the DataFrame that pd.DataFrame(list of row dicts) builds for the same rows."""

import numpy as np
import pandas as pd
import pytest

from stbench.megadepth.columnrows import ColumnRows


def _rows():
    return [
        dict(item="a", value=0.5, count=3, flag=True, note=None),
        dict(item="b", value=float("nan"), count=4, flag=False, note="x"),
        dict(item="c", value=2.0, count=-1, flag=True, note=None),
    ]


def test_frame_equals_the_frame_of_the_row_dicts():
    rows = _rows()
    table = ColumnRows()
    table.add_dicts(rows[:1])
    table.add_columns(
        dict(
            item=["b", "c"],
            value=np.array([np.nan, 2.0]),
            count=np.array([4, -1], dtype=np.int64),
            flag=np.array([False, True]),
            note=["x", None],
        )
    )
    assert len(table) == 3
    assert table.dicts()[1]["count"] == 4 and table.column("item") == ["a", "b", "c"]
    pd.testing.assert_frame_equal(table.frame(), pd.DataFrame(rows), check_exact=True)


def test_numeric_chunks_of_one_kind_stay_arrays_with_the_inferred_dtype():
    table = ColumnRows(["x", "n"])
    table.add_columns(dict(x=np.array([1.5], np.float32), n=np.array([1], np.int32)))
    table.add_columns(dict(x=np.array([2.5]), n=np.array([7], np.uint16)))
    frame = table.frame()
    expected = pd.DataFrame([dict(x=1.5, n=1), dict(x=2.5, n=7)])
    pd.testing.assert_frame_equal(frame, expected, check_exact=True)
    assert frame.dtypes.tolist() == [np.float64, np.int64]


def test_set_column_extend_and_empty_tables():
    table = ColumnRows(["item", "detail"])
    assert len(table) == 0 and table.dicts() == [] and table.frame().empty
    table.add_columns(dict(item=[], detail=[]))  # no rows: nothing added
    table.add_dicts([dict(item="a", detail="d1")])
    other = ColumnRows(["item", "detail"])
    other.add_columns(dict(item=np.array(["b"], dtype=object), detail=["d2"]))
    table.extend(other)
    table.extend([dict(item="c", detail="d3")])
    table.set_column("detail", ["x", "y", "z"])
    assert table.dicts() == [
        dict(item="a", detail="x"),
        dict(item="b", detail="y"),
        dict(item="c", detail="z"),
    ]


def test_mismatched_keys_or_lengths_are_refused():
    table = ColumnRows(["a", "b"])
    with pytest.raises(ValueError, match="differ from the table's"):
        table.add_columns(dict(b=[1], a=[2]))
    with pytest.raises(ValueError, match="different lengths"):
        table.add_columns(dict(a=[1, 2], b=[3]))
    table.add_columns(dict(a=[1], b=[2]))
    with pytest.raises(ValueError, match="1 rows"):
        table.set_column("a", [1, 2])
