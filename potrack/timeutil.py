"""Stored times are UTC; people think in local calendar days (IST by default). Conversions live here."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from potrack.config import settings
from potrack.errors import InvalidInput


def to_local(moment: datetime) -> datetime:
    """A stored UTC time in the configured zone (IST unless POTRACK_TIMEZONE says otherwise)."""
    return moment.astimezone(settings().tz)


def format_local(moment: datetime | None, with_seconds: bool = False) -> str:
    if moment is None:
        return ''
    return to_local(moment).strftime('%d %b %Y %H:%M:%S' if with_seconds else '%d %b %Y %H:%M')


def zone_label(moment: datetime | None = None) -> str:
    """The configured zone's abbreviation at `moment` (default now), e.g. IST, for headers and file names."""
    return (moment or datetime.now(UTC)).astimezone(settings().tz).tzname() or settings().timezone


def local_today() -> date:
    return datetime.now(UTC).astimezone(settings().tz).date()


def local_midnight_utc(day: date) -> datetime:
    """The UTC instant at which local calendar day `day` begins."""
    return settings().tz.localize(datetime.combine(day, time.min)).astimezone(UTC)


def day_range_utc(date_from: date | None, date_to: date | None) -> tuple[datetime | None, datetime | None]:
    """[start, end) in UTC covering the local calendar days from `date_from` to `date_to`, both included."""
    if date_from and date_to and date_from > date_to:
        raise InvalidInput('The start date is after the end date.', field='date_from')
    start = local_midnight_utc(date_from) if date_from else None
    end = local_midnight_utc(date_to + timedelta(days=1)) if date_to else None
    return start, end
