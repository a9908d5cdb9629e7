"""Written interview answers: scoring them (STAR, length, numbers, filler words) and shaping stories into STAR."""

import re
from dataclasses import asdict, dataclass, field

from .inputs import required, result, section, text
from .interview import BEHAVIOURAL
from .textutil import has_metric, sentences, words

PARTS = ("situation", "task", "action", "result")
CUES = {
    "situation": r"\b(?:when|while|at my (?:last|previous|current)|in my (?:last|previous|current) (?:role|job)|our team|"
    r"the (?:company|team|project|client|hospital|school)|we (?:had|were)|there was|back in|"
    r"situation|context)\b",
    "task": r"\b(?:my (?:goal|task|job|role|responsibility) was|i (?:needed|had|was asked|was responsible) to|"
    r"responsible for|the goal was|tasked|objective|the challenge was|i had to)\b",
    # "I" or "we" followed by a past-tense verb: regular -ed forms plus common irregular ones.
    "action": r"\b(?:i|we)\s+(?:also\s+|then\s+|quickly\s+|first\s+)?(?:(?!needed\b)\w+ed|built|led|made|wrote|ran|"
    r"took|set up|spoke|met|brought|drove|began|chose|sent|taught|found|gave|got|kept|sold|told|went|won|"
    r"rewrote|split|put|held|paid|dealt|sought)\b",
    "result": r"\b(?:as a result|result(?:ed|s)?|outcome|which (?:meant|led)|in the end|ultimately|reduced|increased|"
    r"improved|saved|grew|cut|won|achieved|delivered|learned|learnt|percent)\b|%",
}
FILLERS = (
    "um",
    "uh",
    "like",
    "basically",
    "actually",
    "literally",
    "you know",
    "sort of",
    "kind of",
    "i guess",
    "just",
    "really",
    "very",
    "stuff",
    "things",
)
PROMPTS = {
    "situation": "Add the context: where you were, when, and what was at stake.",
    "task": "Add your task: what you specifically were responsible for.",
    "action": "Add your actions in the first person: what you did, step by step.",
    "result": "Add the result with a number (time saved, % improved, money, people) and what you learned.",
}


@dataclass
class AnswerFeedback:
    """Scores and advice for one written answer."""

    score: int
    star: dict[str, bool]
    words: int
    metrics: bool
    fillers: dict[str, int]
    strengths: list[str] = field(default_factory=list)
    improvements: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        """A JSON-ready dict."""
        return asdict(self)


def _has(part: str, text_: str) -> bool:
    return re.search(CUES[part], text_, re.I) is not None


def _fillers(answer: str) -> dict[str, int]:
    low = f" {' '.join(words(answer.lower()))} "
    counts = {f: len(re.findall(rf"(?<= ){re.escape(f)}(?= )", low)) for f in FILLERS}
    return {f: n for f, n in counts.items() if n}


def _length_points(count: int) -> int:
    return 15 if 120 <= count <= 350 else 8 if 60 <= count <= 500 else 0


def score_answer(question: str, answer: str) -> AnswerFeedback:
    """Score a written answer out of 100: STAR parts 60, length 15, numbers 15, few filler words 10."""
    star = {part: _has(part, answer) for part in PARTS}
    count, fillers = len(words(answer)), _fillers(answer)
    filler_rate = 100 * sum(fillers.values()) / max(count, 1)
    points = 15 * sum(star.values()) + _length_points(count) + (15 if has_metric(answer) else 0)
    points += 10 if filler_rate < 1 else 5 if filler_rate < 3 else 0
    fb = AnswerFeedback(min(points, 100), star, count, has_metric(answer), fillers)
    _advise(fb, answer, question)
    return fb


def _advise(fb: AnswerFeedback, answer: str, question: str) -> None:
    found = [p.title() for p in PARTS if fb.star[p]]
    if found:
        fb.strengths.append(f"Covers {', '.join(found)}.")
    fb.improvements += [PROMPTS[p] for p in PARTS if not fb.star[p]]
    if fb.metrics:
        fb.strengths.append("Uses numbers, which makes the impact concrete.")
    if fb.words < 120:
        fb.improvements.append(f"At {fb.words} words it is short: aim for 150–300 words (about 1–2 minutes spoken).")
    elif fb.words > 350:
        fb.improvements.append(f"At {fb.words} words it is long: trim the situation and keep the action and result.")
    if fb.fillers:
        fb.improvements.append("Cut filler words: " + ", ".join(f"'{f}' ×{n}" for f, n in fb.fillers.items()) + ".")
    i_count, we_count = len(re.findall(r"\bI\b", answer)), len(re.findall(r"\bwe\b", answer, re.I))
    if we_count > i_count:
        fb.improvements.append(f"You say 'we' {we_count}× and 'I' {i_count}×: make your own contribution clear.")
    if question and "fail" in question.lower() and not re.search(r"\blearn", answer, re.I):
        fb.improvements.append("For a failure question, say what you learned and what you now do differently.")


def mock_interview(inputs: dict) -> dict:
    """Feedback on a written answer. Keys: question, answer (required); role."""
    question = required(inputs, "question", "The interview question")
    answer = required(inputs, "answer", "Your answer")
    fb = score_answer(question, answer)
    star = [f"{p.title()}: {'found' if fb.star[p] else 'missing'}" for p in PARTS]
    return result(
        f"Feedback: {fb.score}/100",
        [
            section("Question", question),
            section("What worked", fb.strengths),
            section("What to improve", fb.improvements or ["Strong answer: rehearse it aloud once or twice."]),
            section("STAR check", star),
        ],
        **fb.to_dict(),
        role=text(inputs, "role"),
    )


def classify(story: str) -> dict[str, list[str]]:
    """Sentences of a story sorted into STAR parts by cue words and position."""
    parts: dict[str, list[str]] = {p: [] for p in PARTS}
    items = sentences(story)
    for index, sent in enumerate(items):
        late = index >= len(items) / 2
        closing = index == len(items) - 1 and len(items) > 2 and has_metric(sent)
        if (_has("result", sent) and (late or has_metric(sent))) or closing:
            parts["result"].append(sent)
        elif _has("task", sent):
            parts["task"].append(sent)
        elif _has("action", sent) and (index > 0 or len(items) == 1):
            parts["action"].append(sent)
        elif index == 0 or not (parts["task"] or parts["action"]):
            parts["situation"].append(sent)
        else:
            parts["action"].append(sent)
    return parts


def _fits(story: str) -> list[str]:
    return [q for cue, q, _ in BEHAVIOURAL if cue and re.search(cue, story, re.I)][:3]


def behavioral_answers(inputs: dict) -> dict:
    """A story shaped into Situation, Task, Action, Result. Keys: story (required); question."""
    story = required(inputs, "story", "Your story")
    question = text(inputs, "question")
    parts = classify(story)
    missing = [p for p in PARTS if not parts[p]]
    body = [section(p.title(), " ".join(parts[p]) or f"[{PROMPTS[p]}]") for p in PARTS]
    answer = "\n\n".join(" ".join(parts[p]) for p in PARTS if parts[p])
    tips = [PROMPTS[p] for p in missing]
    if len(re.findall(r"\bwe\b", story, re.I)) > len(re.findall(r"\bI\b", story)):
        tips.append("Say 'I' for the actions you took yourself; keep 'we' for the team's shared results.")
    if not has_metric(story):
        tips.append("Add one number to the result: it is what interviewers remember.")
    fits = [question] if question else _fits(story)
    return result(
        "STAR answer",
        [
            *body,
            section("Your answer, in STAR order", answer),
            section("To strengthen it", tips),
            section("Questions this story answers", fits),
        ],
        parts=parts,
        missing=missing,
        words=len(words(story)),
    )
