"""Running model-written code: one interface (`run_sandboxed`), a docker backend and an opt-in local one."""

from aisci.sandbox.outputs import read_final_info, read_output_file
from aisci.sandbox.result import SandboxResult
from aisci.sandbox.runner import run_sandboxed

__all__ = ["SandboxResult", "read_final_info", "read_output_file", "run_sandboxed"]
