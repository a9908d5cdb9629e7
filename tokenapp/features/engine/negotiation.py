"""Offer negotiation scripts anchored on the salary estimate and the user's own results."""

from . import facts
from .errors import EngineInputError
from .inputs import candidate_name, required, result, resume, section, text
from .salary import SalaryEstimate, estimate, parse_amount, round_amount
from .textutil import join_natural, split_list

ASK_ABOVE_OFFER = 0.10  # a common, defensible first counter: about 10% over the offer
FALLBACKS = (
    "a signing bonus to close the gap",
    "a salary review after six months, in writing",
    "more equity or a higher bonus target",
    "extra paid leave",
    "remote or flexible working days",
    "a learning and conference budget",
)


def _position(offer: int, est: SalaryEstimate) -> str:
    if offer < est.low:
        return "below the estimated range"
    if offer < est.mid:
        return "in the lower half of the estimated range"
    if offer <= est.high:
        return "in the upper half of the estimated range"
    return "above the estimated range"


def target_for(offer: int, est: SalaryEstimate, wanted: int | None) -> int:
    """The number to ask for: the user's own target, else ~10% over the offer but at least the market midpoint."""
    if wanted:
        return wanted
    ask = max(offer * (1 + ASK_ABOVE_OFFER), est.mid if offer < est.mid else 0)
    return round_amount(min(ask, max(est.high, offer * 1.05)))


def _value(cv) -> str:
    if not cv:
        return ""
    best = facts.strongest(cv, [], 1)
    years, skills = facts.years_phrase(cv), join_natural(cv.skills[:3])
    proof = f" — for example, I {facts.clause(best[0][1])} —" if best else ","
    return f"Given my {years or 'experience'}{' with ' + skills if skills else ''}{proof} "


def _pushback(priorities: list[str]) -> list[str]:
    """What to say to "no budget": the user's own priorities first, then common alternatives."""
    asks = [f"Ask for {p}." for p in priorities] + [f"Ask for {p}." for p in FALLBACKS[: max(2, 5 - len(priorities))]]
    return [
        'If they say the budget is fixed: "I understand. Could we look at the rest of the package instead?"',
        *asks,
        "Then pause. Let them answer; silence is part of negotiating.",
    ]


def negotiation_script(inputs: dict) -> dict:
    """Negotiation script. Keys: role, offer (required; e.g. "120000", "$120k"); level, location, target,
    competing_offer, priorities (what else matters), company, resume, name."""
    role = required(inputs, "role", "The role")
    offer = parse_amount(required(inputs, "offer", "The offer amount"))
    if not offer:
        raise EngineInputError("offer", "The offer must be an amount, for example 120000 or $120k.")
    est = estimate(role, text(inputs, "level"), text(inputs, "location"))
    ask = target_for(offer, est, parse_amount(text(inputs, "target")))
    company, cv = text(inputs, "company") or "the team", resume(inputs)
    competing = parse_amount(text(inputs, "competing_offer"))
    money = est.format
    where = (
        f"The offer of {money(offer)} is {_position(offer, est)} "
        f"({money(est.low)}–{money(est.high)}, midpoint {money(est.mid)})."
    )
    opening = (
        f"Thank you for the offer — I'm excited about the {role} role and about joining {company}, "
        "and I'd like to find a way to make this work."
    )
    the_ask = (
        f"{_value(cv)}I was expecting a base salary closer to {money(ask)}. "
        f"Market data for {role} roles in {est.location} points to {money(est.low)}–{money(est.high)}. "
        f"Is there flexibility to get to {money(ask)}?"
    )
    if competing and competing > offer:
        the_ask += f" I have another offer at {money(competing)}, but {company} is my first choice."
    pushback = _pushback(split_list(text(inputs, "priorities")))
    closing = "If we can get there, I'm ready to sign this week. Thank you for working on this with me."
    notes = [
        "Negotiate by phone or video if you can, then confirm the final numbers in writing.",
        "Never invent a competing offer; state only real numbers.",
        est.reasoning[-1],
    ]
    return result(
        f"Negotiation script: {role}",
        [
            section("Where the offer stands", where),
            section("Your ask", money(ask)),
            section("Opening", opening),
            section("The ask", the_ask),
            section("If they push back", pushback),
            section("Closing", closing),
            section("Notes", notes),
        ],
        offer=offer,
        ask=ask,
        currency=est.currency,
        estimate=est.to_dict(),
        name=candidate_name(inputs, cv),
    )
