"""The paper writeup: sections from the idea's notes and results, tables and figures placed by aisci, checked
claims, citations, and LaTeX builds whose problems go back to the model. `write_paper(idea_dir, settings)`
runs the one loop (`writer.run_writeup`) in this process."""

from aisci.writeup.writer import Writeup, WriteupOptions, WriteupReport, write_paper

__all__ = ["Writeup", "WriteupOptions", "WriteupReport", "write_paper"]
