"""Salary estimates from a built-in table: role family base × level × country market × city, in local currency."""

import re
from dataclasses import asdict, dataclass, field

from .roles import GENERAL, LEVELS, RoleFamily, detect_level, find_family

# country: currency, units per USD (fixed reference rate), pay level vs the US for the same job
COUNTRIES: dict[str, tuple[str, float, float]] = {
    "united states": ("USD", 1.0, 1.0),
    "united kingdom": ("GBP", 0.79, 0.62),
    "germany": ("EUR", 0.92, 0.66),
    "france": ("EUR", 0.92, 0.56),
    "netherlands": ("EUR", 0.92, 0.64),
    "ireland": ("EUR", 0.92, 0.68),
    "spain": ("EUR", 0.92, 0.45),
    "canada": ("CAD", 1.36, 0.72),
    "australia": ("AUD", 1.52, 0.74),
    "india": ("INR", 83.0, 0.2),
    "singapore": ("SGD", 1.35, 0.68),
    "switzerland": ("CHF", 0.88, 1.05),
}
_COUNTRY_NAMES = {
    "usa": "united states",
    "us": "united states",
    "u.s.": "united states",
    "america": "united states",
    "uk": "united kingdom",
    "england": "united kingdom",
    "scotland": "united kingdom",
    "great britain": "united kingdom",
    "britain": "united kingdom",
    "deutschland": "germany",
    "holland": "netherlands",
}
# city: (country, cost factor vs that country's average)
CITIES: dict[str, tuple[str, float]] = {
    "san francisco": ("united states", 1.35),
    "bay area": ("united states", 1.35),
    "san jose": ("united states", 1.33),
    "new york": ("united states", 1.3),
    "nyc": ("united states", 1.3),
    "seattle": ("united states", 1.25),
    "boston": ("united states", 1.2),
    "los angeles": ("united states", 1.15),
    "washington": ("united states", 1.15),
    "san diego": ("united states", 1.12),
    "austin": ("united states", 1.05),
    "denver": ("united states", 1.05),
    "chicago": ("united states", 1.05),
    "dallas": ("united states", 1.0),
    "atlanta": ("united states", 0.98),
    "miami": ("united states", 0.98),
    "houston": ("united states", 0.97),
    "phoenix": ("united states", 0.95),
    "detroit": ("united states", 0.9),
    "st. louis": ("united states", 0.88),
    "memphis": ("united states", 0.85),
    "oklahoma city": ("united states", 0.85),
    "london": ("united kingdom", 1.25),
    "manchester": ("united kingdom", 0.95),
    "edinburgh": ("united kingdom", 0.97),
    "berlin": ("germany", 1.0),
    "munich": ("germany", 1.1),
    "paris": ("france", 1.15),
    "amsterdam": ("netherlands", 1.08),
    "dublin": ("ireland", 1.08),
    "madrid": ("spain", 1.05),
    "barcelona": ("spain", 1.03),
    "toronto": ("canada", 1.08),
    "vancouver": ("canada", 1.06),
    "montreal": ("canada", 0.97),
    "sydney": ("australia", 1.08),
    "melbourne": ("australia", 1.03),
    "bangalore": ("india", 1.15),
    "bengaluru": ("india", 1.15),
    "mumbai": ("india", 1.1),
    "delhi": ("india", 1.05),
    "hyderabad": ("india", 1.05),
    "singapore": ("singapore", 1.0),
    "zurich": ("switzerland", 1.08),
}
REMOTE_FACTOR = 0.95  # remote roles are usually pegged near the national average, a little below big hubs
SPREAD = (0.85, 1.18)  # low and high as shares of the midpoint
DISCLAIMER = (
    "This is an estimate from a built-in reference table, not live market data: real offers vary with "
    "company size, industry, equity and your negotiation."
)


@dataclass
class SalaryEstimate:
    """An annual base-salary range with the steps that produced it."""

    low: int
    mid: int
    high: int
    currency: str
    reasoning: list[str] = field(default_factory=list)
    role_family: str = ""
    level: str = "mid"
    location: str = ""

    def to_dict(self) -> dict:
        """A JSON-ready dict."""
        return asdict(self)

    def format(self, amount: int) -> str:
        """An amount with its currency, e.g. "USD 120,000"."""
        return f"{self.currency} {amount:,}"


def _word_in(word: str, text: str) -> bool:
    return re.search(rf"(?<![\w]){re.escape(word)}(?![\w])", text) is not None


def place(location: str) -> tuple[str, str | None, float, bool]:
    """(country, city or None, city factor, remote?) for a free-text location; unknown → US average."""
    text = (location or "").lower()
    remote = _word_in("remote", text) or _word_in("anywhere", text)
    for city in sorted(CITIES, key=len, reverse=True):
        if _word_in(city, text) and not (city == "washington" and _word_in("state", text)):
            country, factor = CITIES[city]
            return country, city, factor, remote
    names = {**{c: c for c in COUNTRIES}, **_COUNTRY_NAMES}
    for name in sorted(names, key=len, reverse=True):
        if _word_in(name, text):
            return names[name], None, 1.0, remote
    return "united states", None, 1.0, remote


def round_amount(amount: float) -> int:
    """Rounded to three significant figures, so INR and USD both read naturally."""
    step = 10 ** max(len(str(int(amount))) - 3, 0)
    return int(round(amount / step) * step)


def _level(role: str, level: str, family: RoleFamily) -> tuple[str, str]:
    chosen = detect_level(level) if level else None
    if chosen:
        return chosen, f"Level '{level}'"
    from_title = detect_level(role, family)
    if from_title:
        return from_title, f"Level '{from_title}' from the title"
    return "mid", "No level given: mid-level assumed"


def estimate(role: str, level: str = "", location: str = "") -> SalaryEstimate:
    """Annual base-salary range for a role title, level and location, with reasoning."""
    family = find_family(role)
    steps = [
        f"Role '{role or 'unspecified'}' → {family.label}"
        + (" (no family matched; general average used)" if family is GENERAL else "")
        + f": US mid-level base USD {family.base_usd:,}."
    ]
    lvl, why = _level(role, level, family)
    steps.append(f"{why}: × {LEVELS[lvl]:.2f}.")
    country, city, city_factor, remote = place(location)
    currency, fx, market = COUNTRIES[country]
    amount = family.base_usd * LEVELS[lvl] * market
    if market != 1.0:
        steps.append(f"{country.title()} pay level vs the US: × {market:.2f}.")
    if city:
        steps.append(f"{city.title()} cost/market factor: × {city_factor:.2f}.")
    elif location and not remote and country == "united states" and "united states" not in location.lower():
        steps.append(f"Location '{location}' not in our table: US national average used.")
    if remote:
        city_factor *= REMOTE_FACTOR
        steps.append(f"Remote: × {REMOTE_FACTOR:.2f} (remote pay usually sits near the national average).")
    mid = amount * city_factor * fx
    if fx != 1.0:
        steps.append(f"Converted to {currency} at a fixed reference rate of {fx:g} per USD.")
    steps.append(f"Range: {round(SPREAD[0] * 100)}%–{round(SPREAD[1] * 100)}% of the midpoint, rounded.")
    steps.append(DISCLAIMER)
    return SalaryEstimate(
        round_amount(mid * SPREAD[0]),
        round_amount(mid),
        round_amount(mid * SPREAD[1]),
        currency,
        steps,
        family.key,
        lvl,
        (city or country).title() + (" (remote)" if remote else ""),
    )


def parse_amount(text: str) -> int | None:
    """A money amount from text: "$120,000", "120k", "95 000" → int, or None."""
    hit = re.search(r"(\d[\d,. ]*\d|\d)\s*([kKmM])?", (text or "").replace("\u00a0", " "))
    if not hit:
        return None
    number = float(re.sub(r"[,\s]", "", hit.group(1)).rstrip(".") or 0)
    scale = {"k": 1_000, "m": 1_000_000}.get((hit.group(2) or "").lower(), 1)
    return int(number * scale) or None
