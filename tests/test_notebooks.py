"""The notebooks in examples/notebooks run green with nbclient, in a subprocess, with and
without a system Graphviz ``dot`` on PATH; every picture they show is there as SVG."""
import json
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

NOTEBOOKS = sorted((pathlib.Path(__file__).parent.parent / "examples" / "notebooks")
                   .glob("*.ipynb"))
ROOT = pathlib.Path(__file__).parent.parent

pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

_RUN = r"""
import json, sys, nbformat
from nbclient import NotebookClient
path, out = sys.argv[1], sys.argv[2]
nb = nbformat.read(path, as_version=4)
NotebookClient(nb, timeout=120, kernel_name="python3",
               resources={"metadata": {"path": str(__import__("pathlib").Path(path).parent)}}
               ).execute()
nbformat.write(nb, out)
"""


def _path_without_dot(tmp_path):
    """PATH with only this Python's folder and an empty one: no ``dot`` to be found."""
    empty = tmp_path / "bin"
    empty.mkdir()
    return os.pathsep.join([os.path.dirname(sys.executable), str(empty)])


def test_there_are_three_notebooks():
    assert [p.name[:2] for p in NOTEBOOKS] == ["01", "02", "03"]


@pytest.mark.parametrize("with_dot", [False, True], ids=["no-dot", "dot"])
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_and_shows_svg(tmp_path, notebook, with_dot):
    if with_dot and shutil.which("dot") is None:
        pytest.skip("no system Graphviz dot")
    # the checkout first (as the tests import it), then whatever PYTHONPATH already held
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    env = dict(os.environ, PYTHONPATH=path,
               MPLBACKEND="module://matplotlib_inline.backend_inline")
    if not with_dot:
        env["PATH"] = _path_without_dot(tmp_path)
    out = tmp_path / notebook.name
    res = subprocess.run([sys.executable, "-c", _RUN, str(notebook), str(out)], env=env,
                         capture_output=True, text=True, timeout=300, check=False)
    assert res.returncode == 0, res.stderr[-4000:]
    cells = json.loads(out.read_text())["cells"]
    outputs = [o for c in cells if c["cell_type"] == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o["output_type"] == "error"]
    svgs = [o for o in outputs if "image/svg+xml" in o.get("data", {})]
    assert svgs, "no SVG picture in the executed notebook"
    assert all("<svg" in "".join(o["data"]["image/svg+xml"]) for o in svgs)
