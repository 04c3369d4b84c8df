import subprocess
import sys

from stbench import __version__


def test_version_prints_package_version():
    result = subprocess.run(
        [sys.executable, "-m", "stbench", "--version"], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == f"stbench {__version__}"


def test_import_is_light():
    # Nothing heavy happens on import: no torch, cv2 or pandas for the CLI root.
    code = "import sys, stbench.cli; print(sorted(m for m in ('torch','cv2','h5py') if m in sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
