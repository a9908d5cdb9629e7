"""Skill extraction against a curated vocabulary with aliases (js → JavaScript, k8s → Kubernetes)."""

import re
from functools import lru_cache

from .skills_data import VOCABULARY
from .textutil import clean, dedupe

# Lookarounds instead of \b so C++, C#, .NET and Node.js match whole and "js" never matches inside "Node.js".
_BEFORE = r"(?<![\w+#.])"
_AFTER = r"(?![\w+#&]|\.[A-Za-z])"
_AFTER_STRICT = r"(?![\w+#&-]|\.[A-Za-z])"


def _key(term: str) -> str:
    return re.sub(r"[\s-]+", " ", term.strip().lower())


@lru_cache(maxsize=1)
def _tables() -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """Lower-case term → canonical, exact-case term → canonical, canonical → category."""
    loose: dict[str, str] = {}
    exact: dict[str, str] = {}
    category: dict[str, str] = {}
    for cat, entries in VOCABULARY.items():
        for entry in entries:
            terms = entry.split("|")
            name = terms[0].lstrip("=")
            category[name] = cat
            for term in terms:
                if term.startswith("="):
                    exact[term[1:]] = name
                else:
                    loose[_key(term)] = name
    return loose, exact, category


def _term_body(term: str) -> str:
    return r"[\s-]+".join(re.escape(part) for part in re.split(r"[\s-]+", term))


@lru_cache(maxsize=1)
def _pattern() -> re.Pattern[str]:
    """Every term in one pattern, linear in the text: the shared left boundary is checked once per position,
    and the terms are grouped by first character, so a position tries only the terms that can start there."""
    loose, exact, _ = _tables()
    # Longest first so "Machine Learning" wins over a shorter term at the same position.
    terms = [(t, False) for t in loose] + [(t, True) for t in exact]
    terms.sort(key=lambda item: (-len(item[0]), item[0]))
    groups: dict[str, list[str]] = {}
    for term, strict in terms:
        body = _term_body(term)
        groups.setdefault(term[0].lower(), []).append(f"(?-i:{body}{_AFTER_STRICT})" if strict else body + _AFTER)
    branches = [f"(?={re.escape(first)})(?:{'|'.join(alts)})" for first, alts in sorted(groups.items())]
    return re.compile(_BEFORE + "(?:" + "|".join(branches) + ")", re.IGNORECASE)


def canonical(term: str) -> str | None:
    """The vocabulary name for a skill or alias, or None when it is not in the vocabulary."""
    loose, exact, _ = _tables()
    term = clean(term)
    return exact.get(term) or loose.get(_key(term))


def normalise(term: str) -> str:
    """The vocabulary name when known, else the term tidied up."""
    return canonical(term) or clean(term).strip(" .:")


def category(skill: str) -> str:
    """The vocabulary category of a canonical skill ("other" when unknown)."""
    return _tables()[2].get(skill, "other")


def extract_skills(text: str) -> list[str]:
    """Canonical skills mentioned in the text, in order of first appearance."""
    found: list[str] = []
    for hit in _pattern().finditer(text or ""):
        name = canonical(hit.group(0))
        if name and name not in found:
            found.append(name)
    return found


def mentions(text: str) -> list[tuple[int, int, str]]:
    """(start, end, canonical) for every skill mention, so callers can rewrite aliases in place."""
    out = []
    for hit in _pattern().finditer(text or ""):
        name = canonical(hit.group(0))
        if name:
            out.append((hit.start(), hit.end(), name))
    return out


def mentions_skill(text: str, skill: str) -> bool:
    """True when the text names the skill or one of its aliases (k8s counts for Kubernetes; Django is not Go)."""
    return normalise(skill).lower() in {name.lower() for name in _skills_in(text or "")}


@lru_cache(maxsize=512)
def _skills_in(text: str) -> tuple[str, ...]:
    return tuple(extract_skills(text))


def known_skills() -> list[str]:
    """Every canonical skill in the vocabulary."""
    return list(_tables()[2])


def merge(*groups: list[str]) -> list[str]:
    """Skill lists joined, normalised and deduplicated in order."""
    return dedupe([normalise(s) for group in groups for s in group if s and s.strip()])
