"""The paper writeup: sections from the idea's notes and results, tables from the data, checked claims,
citations, and a LaTeX build whose errors go back to the model. `write_paper(idea_dir, settings)`."""

from aisci.writeup.writer import Writeup, WriteupOptions, WriteupReport, write_paper

__all__ = ["Writeup", "WriteupOptions", "WriteupReport", "write_paper"]
