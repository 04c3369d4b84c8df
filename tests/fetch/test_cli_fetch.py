import io
import json
import tarfile
import zipfile

from PIL import Image
from typer.testing import CliRunner

from stbench.cli import build_app

from .loopback import FileRoute


def run(*args):
    return CliRunner().invoke(build_app(), [str(a) for a in args])


def jpeg():
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (1, 2, 3)).save(buffer, "JPEG")
    return buffer.getvalue()


def test_fetch_megadepth_cli(server, tmp_path):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("phoenix/S6/zl548/MegaDepth_v1/0015/dense0/imgs/a.jpg")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"abc"))
    server.routes["/mirror/MegaDepth_v1.tar.gz"] = FileRoute(buffer.getvalue())
    args = ["fetch", "megadepth", "--root", tmp_path, "--parts", "depth"]
    result = run(*args, "--url", server.url("/mirror/{archive}"))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "MegaDepth_v1/0015/dense0/imgs/a.jpg").read_bytes() == b"abc"
    again = run(*args, "--url", server.url("/mirror/{archive}"))
    assert again.exit_code == 0 and server.hits("/mirror/MegaDepth_v1.tar.gz") == 1


def test_fetch_megadepth_cli_rejects_unknown_part(tmp_path):
    result = run("fetch", "megadepth", "--root", tmp_path, "--parts", "depth,images")
    assert result.exit_code != 0
    assert "unknown MegaDepth part" in str(result.exception)


def test_fetch_webcams_cli(server, tmp_path):
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as archive:
        archive.writestr("20190101_000000.jpg", jpeg())
    server.routes["/z/00000090/2019.01.zip"] = FileRoute(data.getvalue())
    csv = tmp_path / "cams.csv"
    csv.write_text("id,name,lat,lon\n90,Cam,10.5,-3.25\n")
    result = run(
        "fetch",
        "webcams",
        "--cameras",
        "90",
        "--months",
        "2019-01:2019-02",
        "--root",
        tmp_path / "w",
        "--url-template",
        server.url("/z/{id:08}/{YYYY}.{MM}.zip"),
        "--cameras-csv",
        csv,
        "--retries",
        "1",
    )
    assert result.exit_code == 0, result.output
    assert "1 missing, 1 ok" in result.output
    assert (tmp_path / "w/00000090/2019.01.zip").exists()
    assert (tmp_path / "w/cameras.csv").read_text() == "id,name,lat,lon\n00000090,Cam,10.5,-3.25\n"


def test_capture_cli(server, tmp_path):
    server.routes["/live.jpg"] = FileRoute(jpeg(), headers={"Content-Type": "image/jpeg"})
    result = run(
        "capture",
        server.url("/live.jpg"),
        "--camera-id",
        5,
        "--lat",
        1.5,
        "--lon",
        2.5,
        "--every",
        "1s",
        "--max-frames",
        1,
        "--root",
        tmp_path,
    )
    assert result.exit_code == 0, result.output
    assert len(list((tmp_path / "00000005").glob("*.jpg"))) == 1
    log = (tmp_path / "00000005/capture.jsonl").read_text().splitlines()
    assert json.loads(log[0])["status"] == "saved"
    assert "00000005,,1.5,2.5" in (tmp_path / "cameras.csv").read_text()
