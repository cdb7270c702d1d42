"""What a run of the whole pipeline takes and returns: one idea, or a sweep of ideas.

The CLI builds these options, the flows take them as parameters (the Prefect UI shows them as Run forms) and
return the results, and the sweep table reads them: one definition for all three.
"""

from typing import Literal

from pydantic import BaseModel, Field

from aisci.ideation import ScoreWeights
from aisci.literature import NoveltyOptions
from aisci.review import ReviewConfig
from aisci.writeup import WriteupOptions

MAX_PARALLEL = 16


class IdeaOptions(BaseModel):
    """Everything one idea's run can be tuned with; the Prefect UI shows it as a form."""

    max_runs: int = Field(5, ge=1, description="experiment runs after the baseline")
    max_attempts: int = Field(4, ge=1, description="tries per run")
    gpus: list[int] | None = Field(None, description="GPU ids; default: a free GPU of the host that runs it")
    run_unknown: bool = Field(True, description="run ideas whose novelty could not be checked")
    novelty: NoveltyOptions = NoveltyOptions()
    writeup: WriteupOptions = WriteupOptions()
    review: ReviewConfig = ReviewConfig()
    improve: bool = Field(
        False, description="revise the paper once to answer its review, then review it again"
    )
    reproduce: bool = Field(False, description="re-run every completed run and report how many numbers agree")
    budget_share: int = Field(
        1,
        ge=1,
        description="ideas spending the sweep's budget at once (a sweep sets it): experiments sent to a GPU "
        "host through storage take at most this share of what is left",
    )


class IdeaResult(BaseModel):
    idea: str
    idea_dir: str
    status: Literal["done", "skipped"]
    verdict: str
    runs: list[int] = []
    pdf: str | None = None
    paper_problems: list[str] = []  # what a reader would find wrong in the paper (build_report.json)
    paper_warnings: int = 0
    overall: float | None = None
    decision: str | None = None
    cost_usd: float = 0.0
    reproduction_rate: float | None = None  # fraction of non-timing metrics that agree on a re-run


class SweepOptions(BaseModel):
    num_ideas: int = Field(3, ge=1, le=50, description="ideas to generate")
    reflections: int = Field(3, ge=0, le=10, description="reflection rounds per idea")
    top_k: int = Field(2, ge=1, description="best-ranked runnable ideas that go on to experiments")
    parallel: int = Field(2, ge=1, le=MAX_PARALLEL, description="ideas running at the same time")
    weights: ScoreWeights = ScoreWeights()
    novelty: NoveltyOptions = NoveltyOptions()
    idea: IdeaOptions = IdeaOptions()


class IdeaOutcome(BaseModel):
    idea: str
    status: str
    detail: str = ""
    result: IdeaResult | None = None


class SweepSummary(BaseModel):
    sweep_id: str
    template: str
    outcomes: list[IdeaOutcome]
    cost_usd: float
    reproduction_rate: float | None = None  # the mean of the reproduced ideas' rates
