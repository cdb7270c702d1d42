"""Near-duplicate detection: the same idea under a new name or in new words must not run twice."""

import re
from dataclasses import dataclass

STOPWORDS = frozenset(
    {"a", "an", "and", "as", "at", "by", "for", "from", "in", "into", "is", "of", "on", "or", "the", "to"}
    | {"via", "we", "with", "using", "use", "based", "its", "this", "that"}
)


@dataclass(frozen=True)
class Known:
    """An idea to compare against: archived, a template seed, or proposed earlier in this sweep."""

    name: str
    title: str
    text: str = ""


def normalise_name(name: str) -> str:
    """`Adaptive-Noise_Schedule` and `adaptive noise schedule` are the same name."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


def words(text: str) -> frozenset[str]:
    return frozenset(w for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in STOPWORDS)


def similarity(a: str, b: str) -> float:
    """Jaccard overlap of content words: order-free, so a reworded sentence still scores high."""
    wa, wb = words(a), words(b)
    return len(wa & wb) / len(wa | wb) if wa and wb else 0.0


def find_duplicate(name: str, text: str, known: list[Known], threshold: float) -> str | None:
    """Why the idea duplicates a known one (a sentence for the model and the log), or None."""
    key = normalise_name(name)
    for other in known:
        if key and key == normalise_name(other.name):
            return f"its name '{name}' is already taken by '{other.name}: {other.title}'"
        score = similarity(text, f"{other.title} {other.text}")
        if score >= threshold:
            return f"it is {score:.0%} similar to '{other.name}: {other.title}'"
    return None
