"""The report page's notebook sections."""

from __future__ import annotations

import html
import re

import nbformat

from analysis.report.page.html import notebook_body


def _text(page: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page))).strip()


def test_notebook_body_shows_what_nbconverts_html_exporter_shows(tmp_path):
    """notebook_body skips nbconvert's BeautifulSoup pass (seconds per report); the page must show
    exactly the same text: markdown, code, stream and HTML outputs, escaped data included."""
    from nbconvert import HTMLExporter

    nb = nbformat.v4.new_notebook(metadata={"language_info": {"name": "python", "pygments_lexer": "ipython3"}})
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Title\nSome *text* with <b>html</b> & an 'apostrophe'."),
        nbformat.v4.new_code_cell("x = {'a': 1}\nprint(x)", outputs=[
            nbformat.v4.new_output("stream", name="stdout", text="{'a': 1}\n"),
            nbformat.v4.new_output("display_data", data={"text/html": "<table><tr><td>&lt;script&gt;</td></tr></table>",
                                                          "text/plain": "t"}),
        ]),
    ]
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    ours = notebook_body(path)
    theirs, _ = HTMLExporter(template_name="basic").from_notebook_node(nbformat.read(path, as_version=4))
    assert _text(ours) == _text(theirs)
    assert "<script>" not in ours and "&lt;script&gt;" in ours
