"""The strict config of webcam indexing (frame checks, stale-frame detection, the sun fit)."""

from __future__ import annotations

from dataclasses import dataclass

from stbench.config import check_fields

__all__ = ["WebcamConfig"]


@dataclass(frozen=True)
class WebcamConfig:
    """How webcam streams are indexed and their clocks checked against the sun.

    Attributes:
        dataset: the ``dataset`` column of the records (e.g. ``AMOS``).
        max_header_bytes: bytes of each frame read for its EXIF header.
        max_frame_bytes: larger archive members are rejected (``too_large``).
        max_compression_ratio: members expanding more than this are rejected (``zip_bomb``).
        thumb_size: side of the grey thumbnail (pixels) compared between consecutive frames.
        frozen_max_change: consecutive frames whose full grey decodes differ (mean absolute) by
            less than this fraction of their fine detail (mean absolute image minus 3x3 blur)...
        frozen_min_detail_corr: ...and whose fine detail (noise pattern) correlates at least this
            much are the same picture served again (``frozen``).
        ramp_deg: width (deg of sun elevation) of the initial day/night brightness ramp.
        shape_rounds: times the camera's own brightness curve (isotonic in elevation) is learnt
            under the current clock model and the fit repeated with it.
        max_offset_h: clock offsets searched, +- hours.
        grid_min: step of the offset grid (minutes); the optimum is refined by a parabola.
        window_days: days pooled (centred) for each day's offset estimate.
        min_frames_per_day: a window with fewer usable frames gives no estimate.
        min_day_corr: a window's estimate needs at least this brightness/model correlation.
        min_era_days: an era of different clock offset spans at least this many daily estimates.
        min_drift_min: an era is fitted as a linear drift when its window estimates change by at
            least this many minutes (and the slope is significant), else as a constant.
        min_era_shift_min: eras differ by at least this offset (minutes).
        min_fit_corr: an era's fit is strong when its correlation reaches this...
        max_fit_sigma_min: ...and its bootstrap standard deviation (minutes) is below this.
        min_correction_min: a strong era's offset is applied when it is at least this many
            minutes and 3 sigma.
        bootstrap: bootstrap resamples over days for the uncertainty.
        seed: seed of the bootstrap.
        max_download_delay_s: the most a frame's name (the archive's download time) may be later
            than its capture. AMOS documents no bound; 600 s is an assumption (a webcam serves
            its latest picture, refreshed every few minutes; see docs/timestamps.md).
        window_sigmas: the sun fit's share of a frame's time window, in bootstrap standard
            deviations of its era's offset.
        drift_block_days: days with frames per block in which the offset is measured again
            to find a drift the era's model misses (:mod:`stbench.webcams.clock_bounds`).
    """

    dataset: str = "AMOS"
    max_header_bytes: int = 131072
    max_frame_bytes: int = 32 * 1024 * 1024
    max_compression_ratio: float = 200.0
    thumb_size: int = 32
    frozen_max_change: float = 0.15
    frozen_min_detail_corr: float = 0.5
    ramp_deg: float = 3.0
    shape_rounds: int = 2
    max_offset_h: float = 14.0
    grid_min: float = 2.0
    window_days: int = 3
    min_frames_per_day: int = 8
    min_day_corr: float = 0.5
    min_era_days: int = 2
    min_era_shift_min: float = 30.0
    min_drift_min: float = 10.0
    min_fit_corr: float = 0.6
    max_fit_sigma_min: float = 10.0
    min_correction_min: float = 10.0
    bootstrap: int = 100
    seed: int = 0
    max_download_delay_s: float = 600.0
    window_sigmas: float = 3.0
    drift_block_days: int = 20

    def __post_init__(self) -> None:
        check_fields(self)
