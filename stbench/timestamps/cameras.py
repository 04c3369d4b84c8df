"""When camera models came out: a photo dated before its camera existed has a wrong clock.

The table holds the month each model was announced (the first day of that month, so the bound
is conservative); a model not in the table is never checked. Keys are the EXIF ``Model`` strings
as the cameras write them, compared without case and surrounding blanks.
"""

from __future__ import annotations

import datetime as dt

__all__ = ["MODEL_ANNOUNCED", "model_announced"]


#: EXIF Model -> the first day of the month the model was announced.
MODEL_ANNOUNCED: dict[str, dt.datetime] = {
    "canon eos 5d mark ii": dt.datetime(2008, 9, 1),
    "canon eos 550d": dt.datetime(2010, 2, 1),
    "nikon d90": dt.datetime(2008, 8, 1),
    "nikon d750": dt.datetime(2014, 9, 1),
    "dsc-rx100": dt.datetime(2012, 6, 1),
    "iphone 4": dt.datetime(2010, 6, 1),
    "iphone 5": dt.datetime(2012, 9, 1),
    "iphone 6": dt.datetime(2014, 9, 1),
    "iphone 7": dt.datetime(2016, 9, 1),
    "iphone x": dt.datetime(2017, 9, 1),
    "sm-g930f": dt.datetime(2016, 2, 1),  # Samsung Galaxy S7
    "x-t2": dt.datetime(2016, 7, 1),  # Fujifilm
}


def model_announced(model: str | None) -> dt.datetime | None:
    """The announcement month of an EXIF ``Model`` (naive, first day), or None if unknown."""
    if not model:
        return None
    return MODEL_ANNOUNCED.get(" ".join(model.split()).lower())
