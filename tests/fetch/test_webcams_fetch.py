import io
import json
import zipfile

import pytest
from PIL import Image

from stbench.errors import ConfigError, DataError
from stbench.fetch.webcams import (
    AMOS_EARLY_URL_TEMPLATE,
    fetch_webcams,
    month_url,
    parse_camera_ids,
    parse_months,
    read_cameras_csv,
    render_template,
)

from .loopback import FAST, FileRoute

TEMPLATE_PATH = "/amos/{YYYY}/{id%100:02}/{id%10000:04}/{id:08}/{YYYY}.{MM}.zip"


def jpeg_bytes(value):
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (value, value, value)).save(buffer, "JPEG")
    return buffer.getvalue()


def zip_bytes(members):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members:
            archive.writestr(name, data)
    return buffer.getvalue()


def test_template_rendering_matches_the_amos_layout():
    assert (
        render_template(TEMPLATE_PATH, 17603, 2019, 3) == "/amos/2019/03/7603/00017603/2019.03.zip"
    )
    assert month_url(17603, 2019, 1).startswith("http://amosweb.cse.wustl.edu/zipfiles/2019/03/")
    early = month_url(17603, 2013, 8)
    assert early == render_template(AMOS_EARLY_URL_TEMPLATE, 17603, 2013, 8)
    assert "/2012zipfiles/" in early and "/2012zipfiles/" not in month_url(17603, 2013, 9)
    # a custom template alone applies to every month
    assert month_url(5, 2010, 1, url_template="http://m/{id}/{YYYY}{MM}") == "http://m/5/201001"
    with pytest.raises(ConfigError, match="unknown placeholder"):
        render_template("http://m/{year}", 1, 2019, 1)


def test_month_and_camera_parsing():
    assert parse_months("2019-11:2020-02") == [(2019, 11), (2019, 12), (2020, 1), (2020, 2)]
    assert parse_months("2018-05, 2019")[:2] == [(2018, 5), (2019, 1)]
    assert len(parse_months("2019")) == 12
    for bad in ("2019-13", "2019-05:2019-01", "19-1", ""):
        with pytest.raises(ConfigError):
            parse_months(bad)
    assert parse_camera_ids("17603, 90,90") == [90, 17603]
    with pytest.raises(ConfigError, match="bad camera id"):
        parse_camera_ids("12a")


def test_cameras_csv_reader_is_flexible_and_strict(tmp_path):
    text = "camera_id,title,latitude,longitude,extra\n90,Tower,48.85,2.35,x\n7,,,,\n"
    cameras = read_cameras_csv("x.csv", text)
    assert cameras[90].name == "Tower" and cameras[90].lat == 48.85 and cameras[7].lat is None
    with pytest.raises(DataError, match=r"line 2: coordinate 95\.0"):
        read_cameras_csv("x.csv", "id,lat,lon\n1,95,0\n")
    with pytest.raises(DataError, match="no id column"):
        read_cameras_csv("x.csv", "name,lat\nA,1\n")


@pytest.fixture
def amos(server):
    good = zip_bytes(
        [("20190101_000000.jpg", jpeg_bytes(10)), ("20190101_003000.jpg", jpeg_bytes(20))]
    )
    with_html = zip_bytes(
        [("20190201_000000.jpg", jpeg_bytes(30)), ("20190201_003000.jpg", b"<html>oops</html>")]
    )
    slip = zip_bytes([("../../../evil.jpg", jpeg_bytes(1))])

    def path(year, month):
        return render_template(TEMPLATE_PATH, 17603, year, month)

    server.routes[path(2019, 1)] = FileRoute(good, drop_after=300, drop_times=1, fail_first=1)
    server.routes[path(2019, 2)] = FileRoute(with_html)
    server.routes[path(2019, 4)] = FileRoute(slip)  # 2019-03 is not served: 404
    server.routes["/cams.csv"] = FileRoute(
        b"id,name,lat,lon\n17603,Somewhere,38.63,-90.2\n99,Other,1,2\n"
    )
    server.good = good
    server.path = path
    return server


def test_fetch_webcams_end_to_end(amos, tmp_path):
    root = tmp_path / "webcams"
    events = []
    fetch_webcams(
        root,
        [17603],
        parse_months("2019-01:2019-04"),
        url_template=amos.url(TEMPLATE_PATH),
        cameras_url=amos.url("/cams.csv"),
        config=FAST,
        on_month=lambda *e: events.append(e),
    )
    statuses = {key: status for key, status, _ in events}
    assert statuses == {
        "00017603/2019.01.zip": "ok",
        "00017603/2019.02.zip": "ok",
        "00017603/2019.03.zip": "missing",
        "00017603/2019.04.zip": "invalid",
    }
    assert (root / "00017603/2019.01.zip").read_bytes() == amos.good
    assert not (root / "00017603/2019.04.zip").exists()
    assert not (root / "00017603/2019.03.zip").exists()
    assert not (root / ".partial").exists()
    assert (root / "cameras.csv").read_text() == "id,name,lat,lon\n00017603,Somewhere,38.63,-90.2\n"
    log = json.loads((root / "fetch_log.json").read_text())["entries"]
    assert log["00017603/2019.02.zip"]["skipped_members"] == 1
    assert "not a JPEG" in log["00017603/2019.02.zip"]["skipped_examples"][0]
    assert "zip slip" in log["00017603/2019.04.zip"]["reason"]
    assert log["00017603/2019.03.zip"]["status"] == "missing"

    # Second run: nothing is downloaded again; missing/invalid months are not re-asked.
    hits = dict(amos.counts)
    events.clear()
    fetch_webcams(
        root,
        [17603],
        parse_months("2019-01:2019-04"),
        url_template=amos.url(TEMPLATE_PATH),
        config=FAST,
        on_month=lambda *e: events.append(e),
    )
    assert dict(amos.counts) == hits
    assert [detail for _, _, detail in events][:2] == ["verified", "verified"]
    # A local metadata CSV without coordinates never erases known ones.
    assert "38.63" in (root / "cameras.csv").read_text()

    # --retry-failed asks again for the 404 month.
    fetch_webcams(
        root,
        [17603],
        [(2019, 3)],
        url_template=amos.url(TEMPLATE_PATH),
        config=FAST,
        retry_failed=True,
    )
    assert amos.hits(amos.path(2019, 3)) == hits[amos.path(2019, 3)] + 1


def test_network_failure_is_recorded_and_retried_next_run(amos, tmp_path):
    root = tmp_path / "w"
    amos.routes[amos.path(2019, 5)] = FileRoute(b"", fail_first=1000)
    events = []
    fetch_webcams(
        root,
        [17603],
        [(2019, 5), (2019, 1)],
        url_template=amos.url(TEMPLATE_PATH),
        config=FAST,
        on_month=lambda *e: events.append(e[:2]),
    )
    assert events == [("00017603/2019.05.zip", "failed"), ("00017603/2019.01.zip", "ok")]
    amos.routes[amos.path(2019, 5)] = FileRoute(zip_bytes([("a.jpg", jpeg_bytes(3))]))
    events.clear()
    fetch_webcams(
        root,
        [17603],
        [(2019, 5)],
        url_template=amos.url(TEMPLATE_PATH),
        config=FAST,
        on_month=lambda *e: events.append(e[:2]),
    )
    assert events == [("00017603/2019.05.zip", "ok")]


def test_existing_zips_are_adopted_or_reported_never_replaced(amos, tmp_path):
    root = tmp_path / "w"
    good = zip_bytes([("20190101_000000.jpg", jpeg_bytes(9))])
    (root / "00017603").mkdir(parents=True)
    (root / "00017603/2019.01.zip").write_bytes(good)
    (root / "00017603/2019.02.zip").write_bytes(b"not a zip")
    events = []
    fetch_webcams(
        root,
        [17603],
        [(2019, 1), (2019, 2)],
        url_template=amos.url(TEMPLATE_PATH),
        config=FAST,
        on_month=lambda *e: events.append(e),
    )
    assert [e[1] for e in events] == ["ok", "invalid"]
    assert "delete it to download again" in events[1][2]
    assert (root / "00017603/2019.01.zip").read_bytes() == good
    assert (root / "00017603/2019.02.zip").read_bytes() == b"not a zip"
    assert amos.hits(amos.path(2019, 1)) == 0 and amos.hits(amos.path(2019, 2)) == 0
    log = json.loads((root / "fetch_log.json").read_text())["entries"]
    assert log["00017603/2019.01.zip"]["source"] == "existing file"
