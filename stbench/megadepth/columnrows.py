"""Record rows held as columns: a dense scene's ~10^5 pair and reject rows cost no dict each.

:class:`ColumnRows` collects rows of one table as chunks of columns (numpy arrays or lists,
one chunk per producer call) and builds the DataFrame from the columns. The frame is the one
``pd.DataFrame(list_of_row_dicts)`` gives for the same rows in the same order (same columns,
same values, same inferred dtypes), which ``tests/megadepth/test_megadepth_columnrows.py``
checks; :meth:`ColumnRows.dicts` gives those dicts back where a caller wants rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

__all__ = ["ColumnRows"]


class ColumnRows:
    """Rows of one table (all with the same keys, in the same order) stored as column chunks."""

    def __init__(self, keys: Sequence[str] | None = None) -> None:
        self.keys: list[str] | None = list(keys) if keys is not None else None
        self._chunks: list[dict[str, Sequence]] = []
        self._length = 0

    def __len__(self) -> int:
        return self._length

    def add_columns(self, columns: dict[str, Sequence]) -> None:
        """Append rows given as equal-length columns (numpy arrays or lists), keys in row order.

        Raises:
            ValueError: keys other than the table's, or columns of different lengths.
        """
        keys = list(columns)
        if self.keys is None:
            self.keys = keys
        if keys != self.keys:
            raise ValueError(f"ColumnRows: columns {keys} differ from the table's {self.keys}")
        lengths = {len(column) for column in columns.values()}
        if len(lengths) > 1:
            raise ValueError(f"ColumnRows: columns of different lengths {sorted(lengths)}")
        n = lengths.pop() if lengths else 0
        if n:
            self._chunks.append(dict(columns))
            self._length += n

    def add_dicts(self, rows: Iterable[dict]) -> None:
        """Append row dicts (each with the table's keys, in order)."""
        rows = list(rows)
        if rows:
            keys = list(rows[0])
            self.add_columns({key: [row[key] for row in rows] for key in keys})

    def extend(self, other: ColumnRows | Iterable[dict]) -> None:
        """Append the rows of another table or of row dicts."""
        if isinstance(other, ColumnRows):
            for chunk in other._chunks:
                self.add_columns(chunk)
        else:
            self.add_dicts(other)

    def column(self, key: str) -> list:
        """One column as a list of Python values (over all chunks)."""
        out: list = []
        for chunk in self._chunks:
            values = chunk[key]
            out += values.tolist() if isinstance(values, np.ndarray) else list(values)
        return out

    def set_column(self, key: str, values: list) -> None:
        """Replace a column by ``values`` (a list of len(self) values), as one chunk."""
        if len(values) != self._length:
            raise ValueError(f"ColumnRows: {len(values)} values for {self._length} rows")
        merged = {k: (values if k == key else self.column(k)) for k in self.keys or []}
        self._chunks = [merged] if self._length else []

    def dicts(self) -> list[dict]:
        """The rows as dicts (keys in table order)."""
        if not self._length:
            return []
        keys = self.keys or []
        columns = [self.column(key) for key in keys]
        return [dict(zip(keys, values, strict=True)) for values in zip(*columns, strict=True)]

    def frame(self) -> pd.DataFrame:
        """The DataFrame ``pd.DataFrame(self.dicts())`` would give, built from the columns."""
        if not self._length:
            return pd.DataFrame()
        data = {}
        for key in self.keys or []:
            parts = [chunk[key] for chunk in self._chunks]
            if all(isinstance(p, np.ndarray) and p.dtype.kind in "fiub" for p in parts):
                # one numeric dtype: the values pandas would infer from their Python scalars
                kinds = {p.dtype.kind for p in parts}
                if len(kinds) == 1 and kinds != {"b"}:
                    dtype = np.float64 if kinds == {"f"} else np.int64
                    data[key] = np.concatenate([p.astype(dtype, copy=False) for p in parts])
                    continue
            data[key] = self.column(key)
        return pd.DataFrame(data)
