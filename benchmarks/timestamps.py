"""Benchmark: timestamps resolved from header reads vs a naive baseline, and brightness statistics
from a 1/8 reduced decode vs a full decode.

    PYTHONPATH=. nice python benchmarks/timestamps.py [--n 2000] [--workers 2]

Writes ``n`` 1280x960 JPEGs with phone-like EXIF (DateTimeOriginal, OffsetTimeOriginal, GPS)
into a temporary folder, then prints images/s for each method and the ratios.
"""

from __future__ import annotations

import argparse
import io
import tempfile
import time
from pathlib import Path

import numpy as np

from stbench.parallel import process_pool


def _make_files(folder: Path, n: int) -> list[Path]:
    import cv2
    import piexif

    rng = np.random.default_rng(0)
    base = cv2.resize(rng.integers(0, 255, (60, 80, 3), dtype=np.uint8), (1280, 960))
    jpeg = cv2.imencode(".jpg", base, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()
    paths = []
    for i in range(n):
        exif = {
            "0th": {piexif.ImageIFD.Make: b"Phone", piexif.ImageIFD.Model: b"X"},
            "Exif": {
                piexif.ExifIFD.DateTimeOriginal: f"2019:07:{1 + i % 28:02d} 15:00:00".encode(),
                piexif.ExifIFD.OffsetTimeOriginal: b"+02:00",
                piexif.ExifIFD.SubSecTimeOriginal: b"123",
                piexif.ExifIFD.MakerNote: bytes(rng.integers(0, 255, 2000, dtype=np.uint8)),
            },
            "GPS": {
                piexif.GPSIFD.GPSLatitudeRef: b"N",
                piexif.GPSIFD.GPSLatitude: ((48, 1), (51, 1), (0, 1)),
                piexif.GPSIFD.GPSLongitudeRef: b"E",
                piexif.GPSIFD.GPSLongitude: ((2, 1), (21, 1), (0, 1)),
                piexif.GPSIFD.GPSDateStamp: f"2019:07:{1 + i % 28:02d}".encode(),
                piexif.GPSIFD.GPSTimeStamp: ((13, 1), (0, 1), (0, 1)),
            },
            "1st": {},
        }
        out = io.BytesIO()
        piexif.insert(piexif.dump(exif), jpeg, out)
        path = folder / f"IMG_{i:06d}.jpg"
        path.write_bytes(out.getvalue())
        paths.append(path)
    return paths


def _resolve_chunk(paths: list[Path]) -> int:
    from stbench.timestamps import resolve_timestamp

    return sum(resolve_timestamp(p).timestamp_utc is not None for p in paths)


def _naive_chunk(paths: list[Path]) -> int:
    import cv2
    import exifread

    done = 0
    for path in paths:
        image = cv2.imread(str(path))  # full decode
        with open(path, "rb") as handle:
            tags = exifread.process_file(handle, details=True)
        done += image is not None and "EXIF DateTimeOriginal" in tags
    return done


def _rate(function, paths: list[Path], workers: int) -> float:
    chunks = [paths[i :: workers * 8] for i in range(workers * 8)]
    start = time.perf_counter()
    if workers == 1:
        done = sum(function(c) for c in chunks)
    else:
        with process_pool(workers) as pool:
            done = sum(pool.map(function, chunks))
    elapsed = time.perf_counter() - start
    assert done == len(paths), f"{function.__name__} resolved {done}/{len(paths)}"
    return len(paths) / elapsed


def _brightness_rates(paths: list[Path]) -> tuple[float, float]:
    import cv2

    blobs = [np.frombuffer(p.read_bytes(), np.uint8) for p in paths]
    rates = []
    for flag in (cv2.IMREAD_REDUCED_GRAYSCALE_8, cv2.IMREAD_GRAYSCALE):
        start = time.perf_counter()
        means = [float(cv2.imdecode(b, flag).mean()) for b in blobs]
        rates.append(len(means) / (time.perf_counter() - start))
    return rates[0], rates[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        paths = _make_files(Path(tmp), args.n)
        size = np.mean([p.stat().st_size for p in paths]) / 1024
        print(f"{args.n} JPEGs 1280x960, {size:.0f} KiB each, EXIF with GPS and a maker note")
        _rate(_resolve_chunk, paths[:50], 1)  # warm the page cache and the zone finder
        header_1 = _rate(_resolve_chunk, paths, 1)
        header_n = _rate(_resolve_chunk, paths, args.workers)
        naive_n = _rate(_naive_chunk, paths[: max(200, args.n // 5)], args.workers)
        print(f"resolve_timestamp (header read), 1 process : {header_1:8.0f} images/s")
        print(
            f"resolve_timestamp (header read), {args.workers} processes: {header_n:8.0f} images/s"
        )
        print(
            f"naive (full decode + exifread details=True), {args.workers} processes: {naive_n:8.0f} images/s"
        )
        print(f"speed-up header vs naive ({args.workers} processes): {header_n / naive_n:.1f}x")
        subset = paths[: max(200, args.n // 5)]
        reduced, full = _brightness_rates(subset)
        print(f"brightness, 1/8 reduced grey decode, 1 process: {reduced:8.0f} images/s")
        print(f"brightness, full grey decode, 1 process       : {full:8.0f} images/s")
        print(f"speed-up reduced vs full decode: {reduced / full:.1f}x")


if __name__ == "__main__":
    main()
