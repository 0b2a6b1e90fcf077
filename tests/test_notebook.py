"""notebooks/inspect_alignment.ipynb runs top to bottom on a fresh kernel and shows the table and the figures."""
import base64

import nbformat
import pytest
from nbclient import NotebookClient

from conftest import ROOT

NOTEBOOK = ROOT / "notebooks" / "inspect_alignment.ipynb"


def outputs(notebook, kind):
    return [output["data"][kind] for cell in notebook.cells if cell.cell_type == "code"
            for output in cell.get("outputs", []) if kind in output.get("data", {})]


def test_notebook_is_committed_without_outputs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(not cell.outputs and cell.execution_count is None for cell in code)
    # a short explanation above every code cell
    for before, cell in zip(notebook.cells, notebook.cells[1:]):
        if cell.cell_type == "code":
            assert before.cell_type == "markdown", cell.source[:80]


@pytest.mark.slow
def test_notebook_runs_and_shows_table_and_figures(sample_result, tmp_path):
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    # A fresh kernel of this interpreter, run from notebooks/ as Jupyter would; raises on any cell error.
    NotebookClient(notebook, timeout=900, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()

    errors = [output for cell in notebook.cells for output in cell.get("outputs", [])
              if output.get("output_type") == "error"]
    assert not errors
    text = "".join(output.get("text", "") for cell in notebook.cells for output in cell.get("outputs", []))
    assert f"{len(sample_result.zh)} zh and {len(sample_result.en)} en sentences" in text  # the sample pair
    assert "parallel: yes (parallel: yes (AUC" in text and f"made by: {sample_result.signature}" in text

    tables = outputs(notebook, "text/html")
    assert any("<table" in html and "zh_ids" in html and "score" in html for html in tables)  # the bead table
    assert any("<table" in html and "mean_score" in html and "1-1" in html for html in tables)  # type counts
    assert any("<table" in html and "best_text" in html and "Xinhua" in html for html in tables)  # English-only
    assert "English sentences aligned with nothing" in text

    images = [base64.b64decode(data) for data in outputs(notebook, "image/png")]
    assert len(images) >= 3  # histogram, whole heatmap, zoomed heatmap
    assert all(image.startswith(b"\x89PNG\r\n\x1a\n") and len(image) > 10_000 for image in images)
    nbformat.write(notebook, tmp_path / "executed.ipynb")  # kept by pytest for a look when it fails
