"""Surveys sent with a campaign: the recipient's public form, their answers (changeable while
the survey is open), and the results: counts per option, text answers, a CSV export."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from postroom.db.models_campaigns import Campaign, CampaignRecipient, SurveyAnswer, SurveyQuestion
from postroom.enums import CampaignStatus, QuestionKind
from postroom.errors import ConflictError, FieldProblem, ValidationError
from postroom.services.unsubscribes import TokenOwner

MAX_TEXT_ANSWER = 5000
_EXPORT_BATCH = 500


@dataclass(frozen=True)
class SurveyForm:
    campaign_name: str
    questions: list[SurveyQuestion]
    answers: dict[int, Any]  # question id -> the recipient's current answer
    open: bool
    closes_at: datetime | None


@dataclass(frozen=True)
class QuestionResult:
    question: SurveyQuestion
    answered: int
    counts: dict[str, int] = field(default_factory=dict)  # per option, in the options' order
    texts: list[str] = field(default_factory=list)  # text answers, oldest first


def questions_of(session: Session, campaign_id: int) -> list[SurveyQuestion]:
    return list(
        session.scalars(
            select(SurveyQuestion)
            .where(SurveyQuestion.campaign_id == campaign_id)
            .order_by(SurveyQuestion.position)
        )
    )


def closes_at(campaign: Campaign, open_days: int) -> datetime | None:
    """A survey is answered for `open_days` after the campaign started; not before it did."""
    return campaign.started_at + timedelta(days=open_days) if campaign.started_at else None


def is_open(campaign: Campaign, now: datetime, open_days: int) -> bool:
    end = closes_at(campaign, open_days)
    return campaign.status is not CampaignStatus.CANCELLED and end is not None and now < end


def form(session: Session, owner: TokenOwner, now: datetime, open_days: int) -> SurveyForm | None:
    """The recipient's form, or None when their campaign has no survey."""
    campaign = session.get(Campaign, owner.campaign_id)
    assert campaign is not None
    questions = questions_of(session, campaign.id)
    if not questions:
        return None
    answers: dict[int, Any] = dict(
        session.execute(
            select(SurveyAnswer.question_id, SurveyAnswer.value).where(
                SurveyAnswer.recipient_id == owner.recipient_id
            )
        ).all()
    )
    return SurveyForm(
        campaign.name,
        questions,
        answers,
        is_open(campaign, now, open_days),
        closes_at(campaign, open_days),
    )


def _value(question: SurveyQuestion, given: Sequence[str]) -> tuple[Any, FieldProblem | None]:
    """The answer to store (None: none given), or a problem naming the question's field."""
    name = f"q{question.id}"
    values = [v.strip() for v in given if v.strip()]
    if question.kind is QuestionKind.TEXT:
        text = "\n".join(values)
        if len(text) > MAX_TEXT_ANSWER:
            return None, FieldProblem(name, f"At most {MAX_TEXT_ANSWER} characters.", "too_long")
        return text or None, None
    unknown = [v for v in values if v not in question.options]
    if unknown or (question.kind is QuestionKind.SINGLE and len(values) > 1):
        return None, FieldProblem(name, "Choose among the options given.", "invalid_choice")
    if not values:
        return None, None
    return (values[0] if question.kind is QuestionKind.SINGLE else values), None


def answer(
    session: Session,
    owner: TokenOwner,
    given: Mapping[int, Sequence[str]],
    *,
    now: datetime,
    open_days: int,
) -> None:
    """Store the recipient's answers, replacing earlier ones; refused once the survey closed.
    Every required question must be answered; problems name `q<id>` fields."""
    found = form(session, owner, now, open_days)
    if found is None or not found.open:
        raise ConflictError(
            "This survey is closed; answers can no longer be changed.", code="survey_closed"
        )
    chosen: dict[int, Any] = {}
    problems: list[FieldProblem] = []
    for question in found.questions:
        value, bad = _value(question, given.get(question.id, ()))
        if bad is None and value is None and question.required:
            bad = FieldProblem(f"q{question.id}", "This question needs an answer.", "required")
        if bad is not None:
            problems.append(bad)
        elif value is not None:
            chosen[question.id] = value
    if problems:
        raise ValidationError("Some answers are missing or not valid.", problems)
    session.execute(
        delete(SurveyAnswer)
        .where(SurveyAnswer.recipient_id == owner.recipient_id)
        .execution_options(synchronize_session=False)
    )
    session.add_all(
        SurveyAnswer(
            campaign_id=owner.campaign_id,
            recipient_id=owner.recipient_id,
            question_id=question_id,
            value=value,
            answered_at=now,
        )
        for question_id, value in chosen.items()
    )


def respondents(session: Session, campaign_id: int) -> int:
    query = select(func.count(func.distinct(SurveyAnswer.recipient_id))).where(
        SurveyAnswer.campaign_id == campaign_id
    )
    return session.scalar(query) or 0


def results(session: Session, campaign_id: int) -> list[QuestionResult]:
    """Per question: how many answered, how many chose each option, the text answers."""
    found = []
    for question in questions_of(session, campaign_id):
        values = session.scalars(
            select(SurveyAnswer.value)
            .where(SurveyAnswer.question_id == question.id)
            .order_by(SurveyAnswer.answered_at, SurveyAnswer.id)
        ).all()
        counts = dict.fromkeys(question.options, 0)
        texts: list[str] = []
        for value in values:
            if question.kind is QuestionKind.TEXT:
                texts.append(str(value))
                continue
            for option in value if isinstance(value, list) else [value]:
                if option in counts:
                    counts[option] += 1
        found.append(QuestionResult(question, len(values), counts, texts))
    return found


def _cell(value: Any) -> str:
    text = "; ".join(str(v) for v in value) if isinstance(value, list) else str(value)
    # A cell starting with = + - @ would run as a formula in a spreadsheet (CSV injection).
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_header(questions: Sequence[SurveyQuestion]) -> str:
    return _csv_line(["row", "email", "name", "answered_at", *(q.text for q in questions)])


def _csv_line(cells: Sequence[Any]) -> str:
    out = io.StringIO()
    csv.writer(out).writerow(cells)
    return out.getvalue()


def csv_batch(
    session: Session,
    campaign_id: int,
    questions: Sequence[SurveyQuestion],
    *,
    after_row: int,
    limit: int = _EXPORT_BATCH,
) -> tuple[str, int | None]:
    """The CSV lines of the next `limit` respondents after row `after_row` (row, address,
    name, time, one column per question), and the last row number given (None: no more)."""
    rows = session.execute(
        select(
            CampaignRecipient.id,
            CampaignRecipient.row_number,
            CampaignRecipient.email,
            CampaignRecipient.name,
        )
        .where(
            CampaignRecipient.campaign_id == campaign_id,
            CampaignRecipient.row_number > after_row,
            CampaignRecipient.id.in_(
                select(SurveyAnswer.recipient_id).where(SurveyAnswer.campaign_id == campaign_id)
            ),
        )
        .order_by(CampaignRecipient.row_number)
        .limit(limit)
    ).all()
    if not rows:
        return "", None
    answers: dict[int, dict[int, Any]] = {row.id: {} for row in rows}
    last: dict[int, datetime] = {}
    found = session.execute(
        select(
            SurveyAnswer.recipient_id,
            SurveyAnswer.question_id,
            SurveyAnswer.value,
            SurveyAnswer.answered_at,
        ).where(SurveyAnswer.recipient_id.in_(list(answers)))
    )
    for rid, qid, value, when in found:
        answers[rid][qid] = value
        last[rid] = max(last.get(rid, when), when)
    lines = [
        _csv_line(
            [
                row.row_number,
                _cell(row.email),
                _cell(row.name),
                last[row.id].isoformat() if row.id in last else "",
                *(
                    _cell(answers[row.id][q.id]) if q.id in answers[row.id] else ""
                    for q in questions
                ),
            ]
        )
        for row in rows
    ]
    return "".join(lines), rows[-1].row_number
