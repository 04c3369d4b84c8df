"""manifest.json is read in one place (stbench.manifest.io.read_manifest_meta) with clear errors."""

import pytest

from stbench.errors import DataError
from stbench.manifest.io import load_manifest
from stbench.manifest.verify import load_verified_manifest


@pytest.mark.parametrize("load", [load_manifest, load_verified_manifest])
@pytest.mark.parametrize(
    ("text", "message"),
    [
        (None, "is not a manifest: manifest.json is missing"),
        ("{not json", "is not valid JSON"),
        ("[1, 2]", "does not hold a JSON object"),
    ],
)
def test_bad_manifest_json_is_a_clear_error(tmp_path, load, text, message):
    if text is not None:
        (tmp_path / "manifest.json").write_text(text)
    with pytest.raises(DataError, match=message):
        load(tmp_path)
