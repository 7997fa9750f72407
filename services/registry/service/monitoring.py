"""What the registry's gauges show an operator: leads past due, and units still missing today's report."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cordon.clock import local_date
from services.registry.models import DailyReport, Lead, ReportNotice


async def leads_overdue(*, session: AsyncSession, now: datetime) -> int:
    return await session.scalar(select(func.count()).select_from(Lead).where(Lead.status == "open", Lead.due_at <= now))  # as domain.leads.is_overdue


async def reports_missing(*, session: AsyncSession, now: datetime) -> int:
    """Units told missing today's report (after the deadline) that have not reported since."""
    today = local_date(now)
    reported = select(DailyReport.region_code).where(DailyReport.report_on == today)
    query = select(func.count()).select_from(ReportNotice).where(
        and_(ReportNotice.report_on == today, ReportNotice.kind == "missing", ReportNotice.region_code.not_in(reported))
    )
    return await session.scalar(query)
