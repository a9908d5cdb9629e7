"""Small text helpers shared by the engine modules."""

import re

BULLET_CHARS = "-*•·▪◦‣●○■□–—>"
_BULLET = re.compile(rf"^\s*(?:[{re.escape(BULLET_CHARS)}]|\d{{1,2}}[.)])\s+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")
_WORD = re.compile(r"[A-Za-z][A-Za-z'+#.-]*[A-Za-z+#]|[A-Za-z]")
_INLINE_SPACE = re.compile(r"[^\S\n]+")
_LIST_SEPARATORS = re.compile(r"[,;|\n•·]+")
_SLASH_SEPARATOR = re.compile(r"(?<!\s)\s++/\s+")  # tried where a run of spaces starts, so linear
_METRIC = re.compile(r"\d|%|\$|£|€|\b(?:double[d]?|triple[d]?|half|halved)\b", re.I)

STRONG_VERBS = (
    "achieved",
    "built",
    "created",
    "cut",
    "delivered",
    "designed",
    "developed",
    "drove",
    "grew",
    "improved",
    "increased",
    "launched",
    "led",
    "managed",
    "mentored",
    "negotiated",
    "optimised",
    "optimized",
    "owned",
    "reduced",
    "redesigned",
    "resolved",
    "saved",
    "scaled",
    "shipped",
    "streamlined",
    "automated",
    "implemented",
    "introduced",
    "migrated",
    "trained",
    "won",
    "coordinated",
    "established",
    "spearheaded",
    "analysed",
    "analyzed",
    "architected",
    "closed",
    "generated",
    "organised",
    "organized",
    "produced",
    "secured",
    "taught",
    "supervised",
    "administered",
)
WEAK_OPENERS = {
    "responsible for": "Owned",
    "in charge of": "Led",
    "tasked with": "Delivered",
    "worked on": "Developed",
    "helped with": "Supported",
    "helped to": "Helped",
    "helped": "Supported",
    "assisted with": "Supported",
    "assisted in": "Supported",
    "was involved in": "Contributed to",
    "involved in": "Contributed to",
    "participated in": "Contributed to",
    "handled": "Managed",
    "duties included": "Delivered",
    "did": "Executed",
    "made": "Created",
    "used": "Applied",
}
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "been",
        "being",
        "but",
        "by",
        "can",
        "could",
        "do",
        "does",
        "for",
        "from",
        "has",
        "have",
        "he",
        "her",
        "his",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "me",
        "more",
        "most",
        "my",
        "no",
        "not",
        "of",
        "on",
        "or",
        "our",
        "out",
        "over",
        "she",
        "so",
        "such",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "to",
        "too",
        "under",
        "up",
        "us",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "about",
        "also",
        "any",
        "all",
        "each",
        "other",
        "some",
        "own",
        "just",
        "only",
        "via",
        "per",
        "etc",
        "who",
        "whom",
        "across",
        "able",
        "within",
        "without",
        "work",
        "working",
        "team",
        "role",
        "job",
        "new",
        "well",
        "strong",
        "good",
        "great",
        "including",
        "include",
        "includes",
        "experience",
        "years",
        "year",
        "skills",
        "skill",
        "ability",
        "looking",
        "join",
        "help",
        "using",
        "use",
        "based",
    ]
)


def clean(text: str) -> str:
    """Collapse runs of spaces, tabs and other in-line whitespace to one space, and trim."""
    return _INLINE_SPACE.sub(" ", text or "").strip()


def lines(text: str) -> list[str]:
    """Non-empty, cleaned lines."""
    return [line for line in (clean(raw) for raw in (text or "").splitlines()) if line]


def is_bullet(line: str) -> bool:
    """True when the line starts with a bullet marker or list number."""
    return bool(_BULLET.match(line))


def strip_bullet(line: str) -> str:
    """The line without its bullet marker."""
    return clean(_BULLET.sub("", line, count=1))


def sentences(text: str) -> list[str]:
    """Sentences of a paragraph-ish text; list lines count as sentences too."""
    out: list[str] = []
    for line in lines(text):
        out.extend(part.strip() for part in _SENTENCE_END.split(strip_bullet(line)) if part.strip())
    return out


def words(text: str) -> list[str]:
    """Words, keeping tech spellings like C++ or Node.js together."""
    return _WORD.findall(text or "")


def keywords(text: str, limit: int = 15) -> list[str]:
    """Most frequent content words (ties by first appearance), lower case."""
    counts: dict[str, int] = {}
    for word in words(text.lower()):
        if len(word) > 3 and word not in STOPWORDS:
            counts[word] = counts.get(word, 0) + 1
    return sorted(counts, key=lambda w: -counts[w])[:limit]


def has_metric(text: str) -> bool:
    """True when the text quantifies something (numbers, %, money)."""
    return bool(_METRIC.search(text or ""))


def join_natural(items: list[str], conj: str = "and") -> str:
    """'a', 'a and b', 'a, b and c'."""
    items = [i for i in items if i]
    if len(items) < 2:
        return items[0] if items else ""
    return f"{', '.join(items[:-1])} {conj} {items[-1]}"


def lower_first(text: str) -> str:
    """Lower-case the first letter unless the first word is an acronym or name-like."""
    first = text.split(" ", 1)[0]
    if first == "I" or first.startswith(("I'", "I’")):
        return text
    if len(first) > 1 and (first.isupper() or any(c.isupper() for c in first[1:])):
        return text
    return text[:1].lower() + text[1:]


def upper_first(text: str) -> str:
    """Capitalise the first letter."""
    return text[:1].upper() + text[1:]


def sentence(text: str) -> str:
    """The text ending with exactly one full stop."""
    text = text.strip().rstrip(".;,:")
    return f"{text}." if text else ""


def split_list(text: str) -> list[str]:
    """Items of a comma, semicolon, pipe, bullet or newline separated list."""
    parts = (
        strip_bullet(part).strip(" .")
        for chunk in _LIST_SEPARATORS.split(text or "")
        for part in _SLASH_SEPARATOR.split(chunk)
    )
    return [part for part in parts if part]


def dedupe(items: list[str]) -> list[str]:
    """Items without case-insensitive duplicates, first spelling and order kept."""
    seen: dict[str, str] = {}
    for item in items:
        seen.setdefault(item.lower(), item)
    return list(seen.values())


def truncate(text: str, limit: int) -> str:
    """At most `limit` characters, cut at a word boundary with an ellipsis."""
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:") + "…"
