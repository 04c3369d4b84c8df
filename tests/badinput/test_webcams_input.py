"""Bad webcam input: cameras.csv problems, forged frame headers, unsafe member names."""

import struct
import zipfile

import cv2
import numpy as np
import pytest
from webcams.conftest import write_camera

from stbench.errors import DataError
from stbench.imageio import MAX_IMAGE_PIXELS
from stbench.webcams import WebcamConfig, index_camera
from stbench.webcams.frames import load_cameras

CONFIG = WebcamConfig()
CAMERA = "00000001"


@pytest.fixture(scope="module")
def camera_root(tmp_path_factory):
    """One camera whose frames are named 2 h late for a while (the clock fit corrects them)."""
    root = tmp_path_factory.mktemp("cams")
    write_camera(root, CAMERA, days=12, offset_era=(4, 8, -7200), seed=1)
    return root


def _index_with_csv(root, text):
    if text is None:
        (root / "cameras.csv").unlink(missing_ok=True)
    elif isinstance(text, bytes):
        (root / "cameras.csv").write_bytes(text)
    else:
        (root / "cameras.csv").write_text(text)
    return index_camera(root, CAMERA, CONFIG)


def _camera_rejects(records):
    rows = records.rejects[records.rejects["item"] == "cameras.csv"]
    return rows[["reason", "detail"]].values.tolist()


def _assert_no_frame_is_sun_checked(records):
    images = records.images
    assert images["lat"].isna().all() and images["lon"].isna().all()
    assert not images["timestamp_source"].str.endswith("+solar").any()
    assert (images["timestamp_trust"] <= 0.4).all()
    assert images["trust_flags"].map(lambda flags: "no_position" in flags).all()


def test_a_valid_row_gives_sun_checked_frames(camera_root):
    records = _index_with_csv(camera_root, "id,name,lat,lon\n1,cam,47.27,11.40\n")
    assert _camera_rejects(records) == []
    assert records.images["timestamp_source"].str.endswith("+solar").any()


def test_duplicate_camera_rows_that_disagree_are_a_reject_not_a_shifted_clock(camera_root):
    text = "id,name,lat,lon\n1,cam,47.27,11.40\n1,cam,47.27,154.40\n"
    records = _index_with_csv(camera_root, text)
    ((reason, detail),) = _camera_rejects(records)
    assert reason == "camera_duplicate_id"
    assert "2 different rows (line 2: 'cam' 47.27,11.4; line 3: 'cam' 47.27,154.4)" in detail
    _assert_no_frame_is_sun_checked(records)


def test_identical_duplicate_rows_are_harmless(camera_root):
    text = "id,name,lat,lon\n1,cam,47.27,11.40\n00000001,cam,47.27,11.40\n"
    assert _camera_rejects(_index_with_csv(camera_root, text)) == []


@pytest.mark.parametrize(
    ("lat", "lon", "reason"),
    [
        ("999", "11.4", "camera_position_invalid"),
        ("47.2", "200", "camera_position_invalid"),
        ("north", "11.4", "camera_position_invalid"),
        ("nan", "11.4", "camera_position_invalid"),
        ("", "11.4", "camera_position_missing"),
    ],
)
def test_a_position_out_of_range_is_a_reject(camera_root, lat, lon, reason):
    records = _index_with_csv(camera_root, f"id,name,lat,lon\n1,cam,{lat},{lon}\n")
    ((got, detail),) = _camera_rejects(records)
    assert got == reason and "cameras.csv line 2" in detail
    _assert_no_frame_is_sun_checked(records)


def test_a_missing_cameras_csv_is_a_reject(camera_root):
    records = _index_with_csv(camera_root, None)
    assert [r[0] for r in _camera_rejects(records)] == ["cameras_csv_missing"]
    _assert_no_frame_is_sun_checked(records)


def test_a_camera_not_listed_is_a_reject(camera_root):
    records = _index_with_csv(camera_root, "id,name,lat,lon\n2,other,47.27,11.40\n")
    assert [r[0] for r in _camera_rejects(records)] == ["camera_not_listed"]
    _assert_no_frame_is_sun_checked(records)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe", "not a UTF-8 text CSV"),
        (b"id,name,lat,lon\n1,cam\x00,47,11\n", "holds NUL bytes"),
        ("camera;latitude;longitude\n1;47;11\n", "lacks ['id', 'lat', 'lon']"),
        (
            "id,name,lat,lon\n1,cam,47,11\nx1,cam,47,11\n",
            "line 3: camera id 'x1' is not an integer",
        ),
    ],
)
def test_a_binary_or_malformed_cameras_csv_is_a_clear_error(camera_root, content, message):
    with pytest.raises(DataError, match=r"cameras\.csv") as caught:
        _index_with_csv(camera_root, content)
    assert message in str(caught.value)


def test_load_cameras_reports_per_camera_problems(tmp_path):
    (tmp_path / "cameras.csv").write_text("id,name,lat,lon\n3,a,1,2\n4,b,95,0\n")
    table = load_cameras(tmp_path)
    assert table.cameras["00000003"].lat == 1.0 and table.problems_of("00000003") == []
    assert table.cameras["00000004"].lat is None
    assert table.problems_of("00000004")[0][0] == "camera_position_invalid"
    assert table.problems_of("00000005")[0][0] == "camera_not_listed"


def _jpeg(seed=0):
    picture = np.random.default_rng(seed).integers(0, 255, (48, 64), dtype=np.uint8)
    return cv2.imencode(".jpg", picture)[1].tobytes()


def _forge_size(data, width, height):
    data = bytearray(data)
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


@pytest.fixture
def frames_root(tmp_path):
    (tmp_path / "cameras.csv").write_text("id,name,lat,lon\n9,cam,47.27,11.40\n")
    (tmp_path / "00000009").mkdir()
    return tmp_path


def _index_members(root, members):
    with zipfile.ZipFile(root / "00000009" / "2019.03.zip", "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    records = index_camera(root, "00000009", CONFIG)
    reasons = dict(zip(records.rejects["item"], records.rejects["reason"], strict=True))
    return records, reasons


def test_a_forged_huge_frame_header_is_rejected_not_stored(frames_root):
    members = {
        "20190301_120000.jpg": _jpeg(1),
        "20190301_130000.jpg": _forge_size(_jpeg(2), 65500, 65500),
    }
    records, reasons = _index_members(frames_root, members)
    assert reasons == {"00000009/2019.03.zip/20190301_130000.jpg": "implausible_size"}
    detail = records.rejects["detail"].iloc[0]
    assert f"declares 65500x65500 pixels (limit {MAX_IMAGE_PIXELS})" in detail
    assert records.images["width"].tolist() == [64] and records.images["height"].tolist() == [48]


def test_a_member_in_a_subfolder_or_with_a_bidi_mark_is_rejected(frames_root):
    members = {
        "20190301_120000.jpg": _jpeg(1),
        "sub/20190301_130000.jpg": _jpeg(2),
        "20190301_140000\u202egpj.jpg": _jpeg(3),
        "cam\u202e/20190301_150000.jpg": _jpeg(4),
    }
    records, reasons = _index_members(frames_root, members)
    assert reasons == {
        "00000009/2019.03.zip/sub/20190301_130000.jpg": "unsafe_name",
        "00000009/2019.03.zip/20190301_140000\u202egpj.jpg": "unsafe_name",
        "00000009/2019.03.zip/cam\u202e/20190301_150000.jpg": "unsafe_name",
    }
    details = records.rejects.set_index("reason")["detail"]
    assert (
        details.str.contains("has a folder part").any()
        and details.str.contains("U+202E", regex=False).any()
    )
    ids = records.images["image_id"].tolist()
    assert ids == ["webcam/00000009/20190301_120000.jpg"]


def test_index_webcams_stage_isolates_a_failing_camera(tmp_path, monkeypatch):
    import stbench.webcams.index as webcam_index
    from stbench.errors import StbenchError
    from stbench.webcams import index_webcams

    root = tmp_path / "root"
    write_camera(root, "00000001", days=2, seed=1)
    write_camera(root, "00000002", days=2, seed=2)
    (root / "cameras.csv").write_text("id,name,lat,lon\n1,a,47.27,11.40\n2,b,47.27,11.40\n")
    real = webcam_index.index_camera

    def flaky(root_, camera_id, config, cameras=None):
        if camera_id == "00000001":
            raise DataError(f"{root_}/00000001/2019.03.zip: simulated unreadable disk")
        return real(root_, camera_id, config, cameras)

    monkeypatch.setattr(webcam_index, "index_camera", flaky)
    with pytest.raises(StbenchError, match=r"1 camera\(s\) failed") as caught:
        index_webcams(WebcamConfig(), root, tmp_path / "out")
    assert "00000001: DataError:" in str(caught.value) and "2019.03.zip" in str(caught.value)
    assert (tmp_path / "out" / "00000002" / "images.parquet").is_file()
    assert not (tmp_path / "out" / "00000001").exists()

    reported = []
    index_webcams(
        WebcamConfig(),
        root,
        tmp_path / "out2",
        keep_going=True,
        on_failure=lambda *a: reported.append(a),
    )
    assert [camera for camera, _ in reported] == ["00000001"]
    assert (tmp_path / "out2" / "00000002" / "images.parquet").is_file()


def test_a_decode_of_another_size_than_the_header_is_a_size_mismatch():
    from stbench.timestamps.header import parse_header
    from stbench.webcams.index import _size_problem

    header = parse_header(_jpeg(5))  # 64x48: the 1/8 decode is 8x6
    assert _size_problem(header, (6, 8)) is None
    reason, detail = _size_problem(header, (12, 16))
    assert reason == "size_mismatch"
    assert detail == "header says 64x48, the 1/8 decode is 16x12 (expected 8x6)"


def _two_cameras(root):
    write_camera(root, "00000001", days=2, seed=1)
    write_camera(root, "00000002", days=2, seed=2)
    (root / "cameras.csv").write_text("id,name,lat,lon\n1,a,47.27,11.40\n2,b,47.27,11.40\n")


def test_a_malformed_cameras_csv_is_one_clear_failure(tmp_path):
    from stbench.webcams import index_webcams

    root = tmp_path / "root"
    _two_cameras(root)
    (root / "cameras.csv").write_text("id,name,latitude\n1,a,47.27\n2,b,47.27\n")
    with pytest.raises(
        DataError, match=r"cameras\.csv: header .* lacks \['lat', 'lon'\]"
    ) as caught:
        index_webcams(CONFIG, root, tmp_path / "out", keep_going=True)
    assert "camera(s) failed" not in str(caught.value)  # not one identical failure per camera
    assert not (tmp_path / "out").exists()


def test_cameras_csv_is_read_once_and_each_frame_header_parsed_once(tmp_path, monkeypatch):
    import stbench.timestamps.resolve as resolve
    import stbench.webcams.index as webcam_index
    from stbench.webcams import index_webcams

    root = tmp_path / "root"
    _two_cameras(root)
    calls = {"csv": 0, "header": 0, "frames": 0}

    def counting(name, real):
        def wrapper(*args, **kwargs):
            calls[name] += 1
            return real(*args, **kwargs)

        return wrapper

    real_frames = webcam_index.iter_frames

    def frames(*args):
        for ref, data in real_frames(*args):
            calls["frames"] += bool(data)  # an empty frame has no header to parse
            yield ref, data

    monkeypatch.setattr(webcam_index, "iter_frames", frames)
    monkeypatch.setattr(webcam_index, "load_cameras", counting("csv", webcam_index.load_cameras))
    monkeypatch.setattr(webcam_index, "parse_header", counting("header", webcam_index.parse_header))
    monkeypatch.setattr(resolve, "parse_header", counting("header", resolve.parse_header))
    out = index_webcams(CONFIG, root, tmp_path / "out")
    assert calls["csv"] == 1
    assert calls["frames"] > 20 and calls["header"] == calls["frames"]
    assert (out / "00000002" / "images.parquet").is_file()


def test_a_camera_directory_is_written_whole_or_not_at_all(tmp_path, monkeypatch):
    import stbench.webcams.index as webcam_index
    from stbench.webcams import index_webcams

    root = tmp_path / "root"
    _two_cameras(root)
    real = webcam_index.write_records

    def disk_full(records, directory):
        real(records, directory)  # the three files are written, then the disk fills up
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(webcam_index, "write_records", disk_full)
    with pytest.raises(OSError, match="No space left"):
        index_webcams(CONFIG, root, tmp_path / "out", cameras=["00000002"])
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["config.json"]
    monkeypatch.setattr(webcam_index, "write_records", real)
    index_webcams(CONFIG, root, tmp_path / "out", cameras=["00000002"])  # the rerun completes it
    assert sorted(p.name for p in (tmp_path / "out" / "00000002").iterdir()) == [
        "images.parquet",
        "pairs.parquet",
        "rejects.parquet",
    ]
