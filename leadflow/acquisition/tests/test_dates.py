"""Dates as CRM exports write them: 12-hour clocks, two-digit years, and one order of day
and month for a whole file."""

from datetime import UTC, date, datetime

import polars as pl
import pytest

from leadflow.acquisition.pipeline import read
from leadflow.acquisition.pipeline.dates import NEVER_TOLD, TOLD_LATE, DateOrders, parse_dates
from leadflow.acquisition.pipeline.normalise import normalise_contacts
from leadflow.acquisition.tests.test_pipeline import _frame
from leadflow.contacts.models import Contact, Spend


def test_a_us_export_with_a_12_hour_clock_is_read_month_first():
    frame = _frame(
        email=["a@x.com", "b@x.com", "c@x.com", "d@x.com"],
        created_at=["03/01/2024 10:30 AM", "03/01/2024 10:30", "3/1/2024 1:05 PM", "12/31/24"],
    )
    got = normalise_contacts(frame, region="US")["created_at"].to_list()
    assert got == [
        datetime(2024, 3, 1, 10, 30),
        datetime(2024, 3, 1, 10, 30),
        datetime(2024, 3, 1, 13, 5),
        datetime(2024, 12, 31),
    ]


def test_a_european_column_stays_day_first_with_12_hour_times():
    frame = pl.DataFrame({"d": ["25/12/2024 11:59 PM", "03/01/2024 9:00 am", "01.02.2024 08:15"]})
    got = parse_dates(frame, ["d"])["d"].to_list()
    assert got == [
        datetime(2024, 12, 25, 23, 59, tzinfo=UTC),
        datetime(2024, 1, 3, 9, tzinfo=UTC),
        datetime(2024, 2, 1, 8, 15, tzinfo=UTC),
    ]


def test_the_first_chunk_that_tells_decides_the_order_for_the_rest_of_the_file():
    orders = DateOrders()
    ambiguous = pl.DataFrame({"d": ["03/01/2024"]})
    telling = pl.DataFrame({"d": ["12/25/2024", "03/02/2024"]})
    assert parse_dates(ambiguous, ["d"], orders)["d"][0] == datetime(2024, 1, 3, tzinfo=UTC)
    assert orders.month_first == {}  # nothing told yet
    assert parse_dates(telling, ["d"], orders)["d"].to_list() == [
        datetime(2024, 12, 25, tzinfo=UTC),
        datetime(2024, 3, 2, tzinfo=UTC),
    ]
    # A later chunk of nothing but ambiguous dates keeps the order the file showed ...
    assert parse_dates(ambiguous, ["d"], orders)["d"][0] == datetime(2024, 3, 1, tzinfo=UTC)
    # ... and a day-first date there is not a date: one file never means two orders.
    late = parse_dates(pl.DataFrame({"d": ["25/12/2024"]}), ["d"], orders)
    assert late["d"][0] is None and late["d_raw"][0] == "25/12/2024"


@pytest.mark.django_db
def test_an_import_reads_a_salesforce_export_in_chunks_without_a_reject(
    monkeypatch, write_list, run_import
):
    monkeypatch.setattr(read, "CHUNK_ROWS", 2)
    path = write_list(
        "Email,Created Date\n"
        "a@x.com,12/25/2023 11:15 PM\n"
        "b@x.com,03/01/2024 10:30 AM\n"
        "c@x.com,03/04/2024 10:30\n"
        "d@x.com,04/05/2024\n"
    )
    report = run_import(path)
    assert report["rejected"] == 0, report["rejected_by_reason"]
    created = dict(Contact.objects.values_list("email", "created_at"))
    assert created["a@x.com"] == datetime(2023, 12, 25, 23, 15, tzinfo=UTC)
    assert created["b@x.com"] == datetime(2024, 3, 1, 10, 30, tzinfo=UTC)
    assert created["c@x.com"] == datetime(2024, 3, 4, 10, 30, tzinfo=UTC)
    assert created["d@x.com"] == datetime(2024, 4, 5, tzinfo=UTC)


def test_a_12_hour_clock_tells_a_us_column_even_when_every_day_is_ambiguous():
    frame = pl.DataFrame({"d": ["3/1/2024 10:30 PM", "03/04/2024 9:15 AM", "04/05/2024"]})
    orders = DateOrders()
    assert parse_dates(frame, ["d"], orders)["d"].to_list() == [
        datetime(2024, 3, 1, 22, 30, tzinfo=UTC),
        datetime(2024, 3, 4, 9, 15, tzinfo=UTC),
        datetime(2024, 4, 5, tzinfo=UTC),
    ]
    assert orders.month_first == {"d": True}
    # A 24-hour clock tells nothing: day-first, as most of the world writes.
    plain = pl.DataFrame({"d": ["03/04/2024 21:15"]})
    assert parse_dates(plain, ["d"])["d"][0] == datetime(2024, 4, 3, 21, 15, tzinfo=UTC)


def test_a_column_that_cannot_tell_takes_the_order_another_column_of_the_file_told():
    frame = pl.DataFrame(
        {"close": ["3/4/2024", "5/6/2024"], "created": ["2/10/2024 10:30 AM", "2/11/2024"]}
    )
    orders = DateOrders()
    got = parse_dates(frame, ["close", "created"], orders)
    assert got["close"].to_list() == [
        datetime(2024, 3, 4, tzinfo=UTC),
        datetime(2024, 5, 6, tzinfo=UTC),
    ]
    assert got["created"][1] == datetime(2024, 2, 11, tzinfo=UTC)
    # ... and keeps it in later chunks, where it still cannot tell.
    later = parse_dates(
        pl.DataFrame({"close": ["1/2/2024"], "created": [""]}), ["close", "created"], orders
    )
    assert later["close"][0] == datetime(2024, 1, 2, tzinfo=UTC)


# --- When the file cannot tell: --date-order, and a warning ----------------------------------


def test_dates_read_before_the_file_told_are_counted_by_how_they_were_told():
    orders = DateOrders()
    parse_dates(pl.DataFrame({"d": ["03/01/2024", "05/05/2024", "2024-03-01"]}), ["d"], orders)
    assert orders.warnings() == {NEVER_TOLD: 1}  # 05/05 and ISO read one way only
    parse_dates(pl.DataFrame({"d": ["12/25/2024"]}), ["d"], orders)
    assert orders.warnings() == {TOLD_LATE: 1}  # 03/01 was read as the 3rd of January

    day_first = DateOrders()
    parse_dates(pl.DataFrame({"d": ["03/01/2024"]}), ["d"], day_first)
    parse_dates(pl.DataFrame({"d": ["25/12/2024"]}), ["d"], day_first)
    assert day_first.warnings() == {}  # told day-first: the early reading was right


def test_a_column_read_again_once_another_told_the_order_is_not_unsure():
    orders = DateOrders()
    frame = pl.DataFrame({"close": ["03/04/2024"], "created": ["2/10/2024 10:30 AM"]})
    read = parse_dates(frame, ["close", "created"], orders)
    assert read["close"][0] == datetime(2024, 3, 4, tzinfo=UTC)
    assert orders.warnings() == {}


def test_a_given_order_reads_every_column_so_and_warns_of_nothing():
    orders = DateOrders(given=True)
    read = parse_dates(pl.DataFrame({"d": ["03/01/2024", "25/12/2024"]}), ["d"], orders)
    assert read["d"].to_list() == [datetime(2024, 3, 1, tzinfo=UTC), None]
    assert orders.warnings() == {}


@pytest.mark.django_db
def test_a_short_us_spend_export_warns_and_reads_month_first_when_told(write_list, run_kind):
    # A week of LinkedIn spend, 3/1 to 3/7: no day past the 12th says the order.
    text = "Date,Campaign,Cost\n" + "".join(f"3/{d}/2024,Brand,10\n" for d in range(1, 8))
    guessed = run_kind(write_list(text), "spend", "--dry-run")
    assert guessed["warnings"] == {NEVER_TOLD: 6}  # 3/3 reads the same either way

    told = run_kind(write_list(text), "spend", "--date-order", "mdy")
    assert told["warnings"] == {}
    days = sorted(Spend.objects.values_list("spent_on", flat=True))
    assert days == [date(2024, 3, d) for d in range(1, 8)]


@pytest.mark.django_db
def test_a_contacts_import_warns_of_dates_it_could_not_tell(write_list, run_import):
    report = run_import(write_list("Email,Created\na@x.com,03/04/2024\nb@x.com,2024-05-01\n"))
    assert report["warnings"] == {NEVER_TOLD: 1}
    report = run_import(write_list("Email,Created\nc@x.com,03/04/2024\n"), "--date-order", "mdy")
    assert report["warnings"] == {}
    assert Contact.objects.get(email="c@x.com").created_at == datetime(2024, 3, 4, tzinfo=UTC)
