"""Image records of a MegaDepth component: files, header sizes, depth discovery, timestamps."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from stbench.errors import DataError
from stbench.imageio import unsafe_name_problem, verify_image
from stbench.megadepth.layout import Component
from stbench.megadepth.model import ComponentModel, ModelReject
from stbench.schema import make_image_id

__all__ = [
    "DATASET",
    "SOURCE",
    "ComponentImages",
    "component_images",
    "read_verified_size",
    "timestamp_fields",
    "unresolved_timestamp",
]

SOURCE = "megadepth"
DATASET = "MegaDepth_v1"


@dataclass
class ComponentImages:
    """The usable images of a component (indices into the model) and their record rows."""

    keep: np.ndarray  # (M,) indices into the model's images
    rows: list[dict]  # one images-table row per kept image (same order)
    depth_files: list[Path | None]  # absolute depth .h5 path per kept image, None if absent
    rejects: list[ModelReject]


def read_verified_size(path: Path) -> tuple[int, int]:
    """(width, height) of an image file that decodes fully at the size its header declares.

    Raises:
        DataError: unreadable, truncated, forged or undecodable (see :func:`verify_image`).
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot be read: {exc}") from exc
    return verify_image(data, where=str(path))


def unresolved_timestamp() -> dict:
    """Timestamp fields when timestamps are not read (``timestamps: false``): unknown and
    untrusted."""
    return dict(
        timestamp_utc=None,
        utc_offset_min=None,
        timestamp_source="unresolved",
        timestamp_trust=0.0,
        trust_flags=["resolver_unavailable"],
    )


def timestamp_fields(path: Path, name: str, location: tuple[float, float] | None = None) -> dict:
    """Timestamp columns from the EXIF of ``path`` via :mod:`stbench.timestamps`.

    Internet-photo times are only trusted when the resolver maps them to UTC.
    """
    from stbench.timestamps import resolve_timestamp
    from stbench.timestamps.windows import timestamp_window_s

    lat, lon = location if location is not None else (None, None)
    result = resolve_timestamp(path, name=name, lat=lat, lon=lon)
    window = None
    if result.timestamp_utc is not None:
        window = timestamp_window_s(
            result.timestamp_source, result.utc_offset_min, result.trust_flags
        )
    return dict(
        timestamp_utc=result.timestamp_utc,
        utc_offset_min=result.utc_offset_min,
        timestamp_source=result.timestamp_source,
        timestamp_trust=float(result.timestamp_trust),
        trust_flags=list(result.trust_flags),
        time_early_s=None if window is None else window[0],
        time_late_s=None if window is None else window[1],
    )


def component_images(
    root: Path,
    component: Component,
    model: ComponentModel,
    read_timestamps: bool = True,
    location: tuple[float, float] | None = None,
    workers: int = 1,
) -> ComponentImages:
    """Check each model image against the files on disk and build its record row.

    Rejected (not in the images table): ``image_missing`` (listed in the model, no file),
    ``image_unsafe_name`` (a name that cannot be part of an id, see
    :func:`stbench.imageio.unsafe_name_problem`), ``image_unreadable`` (does not decode fully at
    its header's size: truncated, forged header, not an image), ``image_size_mismatch`` (file
    size differs from the undistorted camera). A missing depth map is not a reject here: the image is kept
    with ``depth_path`` null (the verification stage records ``depth_missing``).

    ``workers`` threads decode the images (the decoders release the GIL); the result is the
    same.
    """
    keep, rows, depth_files, rejects = [], [], [], []
    images_dir = component.dense_dir / "imgs"
    depths_dir = component.dense_dir / "depths"

    def check(name: str) -> tuple[str, str] | tuple[int, int]:
        """The image's verified (width, height), or (reason, detail) of its reject."""
        unsafe = unsafe_name_problem(name)
        if unsafe is not None:  # never touch the file system with such a name
            return "image_unsafe_name", unsafe
        path = images_dir / name
        if not path.is_file():
            return "image_missing", f"{path} does not exist"
        try:
            return read_verified_size(path)
        except DataError as exc:
            return "image_unreadable", str(exc)

    if workers > 1 and len(model.names) > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(workers) as pool:
            checks = list(pool.map(check, model.names))
    else:
        checks = [check(name) for name in model.names]
    for index, (name, checked) in enumerate(zip(model.names, checks, strict=True)):
        if isinstance(checked[0], str):
            rejects.append(ModelReject(name, checked[0], checked[1]))
            continue
        path = images_dir / name
        width, height = checked
        if (width, height) != (int(model.width[index]), int(model.height[index])):
            detail = (
                f"{path} is {width}x{height} but the undistorted camera is "
                f"{model.width[index]}x{model.height[index]}"
            )
            rejects.append(ModelReject(name, "image_size_mismatch", detail))
            continue
        depth_file = depths_dir / f"{Path(name).stem}.h5"
        has_depth = depth_file.exists()
        K, q, t = model.K[index], model.qvec[index], model.tvec[index]
        row = dict(
            image_id=make_image_id(SOURCE, component.scene, name),
            source=SOURCE,
            dataset=DATASET,
            scene=component.scene,
            path=f"{component.dense_prefix}/imgs/{name}",
            width=width,
            height=height,
            fx=K[0, 0],
            fy=K[1, 1],
            cx=K[0, 2],
            cy=K[1, 2],
            qw=q[0],
            qx=q[1],
            qy=q[2],
            qz=q[3],
            tx=t[0],
            ty=t[1],
            tz=t[2],
            depth_path=f"{component.dense_prefix}/depths/{depth_file.name}" if has_depth else None,
            depth_kind=None,
            lat=location[0] if location is not None else None,
            lon=location[1] if location is not None else None,
        )
        if read_timestamps:
            raw = component.raw_images_dir / name
            row.update(timestamp_fields(raw if raw.is_file() else path, name, location))
        else:
            row.update(unresolved_timestamp())
            row["trust_flags"] = ["not_read"]
        keep.append(index)
        rows.append(row)
        depth_files.append(depth_file if has_depth else None)
    return ComponentImages(np.asarray(keep, dtype=np.int64), rows, depth_files, rejects)
