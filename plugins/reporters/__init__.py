"""The built-in leaderboard formats: Markdown, CSV, LaTeX (booktabs) and one HTML page.

They register through the same `register_reporters` hook as a third-party format, and use
only `medbench.api`.
"""

from medbench.api import hookimpl
from medbench.plugins.reporters.formats import (
    CsvReporter,
    HtmlReporter,
    LatexReporter,
    MarkdownReporter,
)


@hookimpl
def register_reporters(register) -> None:
    for reporter in (MarkdownReporter(), CsvReporter(), LatexReporter(), HtmlReporter()):
        register(reporter)
