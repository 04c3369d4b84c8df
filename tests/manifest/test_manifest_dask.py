"""The same index tasks on Dask distributed give the identical manifest."""

import pytest

from stbench.manifest.build import build_manifest


def _files(directory):
    return {
        p.relative_to(directory).as_posix(): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


@pytest.mark.parametrize(
    "processes", [False, pytest.param(True, marks=pytest.mark.slow)], ids=["threads", "processes"]
)
def test_local_cluster_gives_identical_manifest(built, sources, tmp_path, processes):
    distributed = pytest.importorskip("distributed")
    reference, config = built
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=processes, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        out = build_manifest(config, tmp_path / "dask", sources=sources, scheduler=client)
    assert _files(out) == _files(reference)


@pytest.mark.slow
def test_scheduler_local_string_starts_a_cluster(built, sources, tmp_path):
    reference, config = built
    out = build_manifest(config, tmp_path / "dask", sources=sources, scheduler="local", workers=2)
    assert _files(out) == _files(reference)
