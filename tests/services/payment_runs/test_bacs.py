"""The council's payment file: Bacs Standard 18 checked byte for byte against golden files
read by hand, then parsed back (widths, totals, counts, the contra, the character set), and
the CSV alternative. No database: these are pure functions.

The golden files were written by the code and then checked column by column against the
layout in app/services/payment_runs/bacs.py; after a deliberate change to the layout, write
them again with the same inputs (``GOLDEN_RUN`` below) and read the diff before keeping it.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.services.payment_runs.bacs import (
    BACS_CHARACTERS,
    MAX_AMOUNT_PENCE,
    BacsError,
    Originator,
    Payment,
    bacs_text,
    normalise_account_number,
    normalise_sort_code,
    payments_csv,
    standard18,
)

GOLDEN = Path(__file__).parent / "golden"

COUNCIL = Originator(sort_code="309634", account_number="12345678", name="Northshire County Council", service_user_number="123456")
PAYMENTS = (
    Payment("112233", "00012345", 123_456, "PR12 P0034", "Héloïse & Daughters Care"),
    Payment("204060", "87654321", 99, "PR12 P0035", "O'Neill Home Support Services Limited"),
    Payment("601613", "31926819", 5_000_000, "pr12/p0036 extra-long reference text", 'Åsa Ørsted-Smith, "Care at Home" Ltd.'),
)
PROCESSING = dt.date(2025, 3, 5)  # a Wednesday, day 64 of 2025
CREATED = dt.date(2025, 3, 3)  # day 62
GOLDEN_RUN = {"processing_date": PROCESSING, "created_on": CREATED, "file_serial": 7}


def _file(payments=PAYMENTS, originator=COUNCIL, **overrides) -> str:
    return standard18(originator, payments, **{**GOLDEN_RUN, **overrides})


def _lines(text: str) -> list[str]:
    """The records of a file, checking that each one (the last included) ends CR LF."""
    assert text.endswith("\r\n")
    lines = text[:-2].split("\r\n")
    assert not any("\r" in line or "\n" in line for line in lines)
    return lines


def _records(text: str) -> list[str]:
    return _lines(text)[4:-3]


def _record(line: str) -> dict:
    return {
        "sort_code": line[0:6],
        "account_number": line[6:14],
        "account_type": line[14],
        "code": line[15:17],
        "from_sort_code": line[17:23],
        "from_account": line[23:31],
        "free": line[31:35],
        "pence": int(line[35:46]),
        "originator_name": line[46:64],
        "reference": line[64:82],
        "payee_name": line[82:100],
    }


def _utl1(text: str) -> dict:
    line = _lines(text)[-1]
    assert line[:4] == "UTL1"
    return {
        "debit_pence": int(line[4:17]),
        "credit_pence": int(line[17:30]),
        "debits": int(line[30:37]),
        "credits": int(line[37:44]),
    }


def _totals_of_records(text: str) -> dict:
    records = [_record(line) for line in _records(text)]
    debits = [r["pence"] for r in records if r["code"] == "17"]
    credits = [r["pence"] for r in records if r["code"] == "99"]
    assert len(debits) + len(credits) == len(records)
    return {"debit_pence": sum(debits), "credit_pence": sum(credits), "debits": len(debits), "credits": len(credits)}


# Golden files -------------------------------------------------------------------------------------


def test_standard18_matches_the_golden_file_byte_for_byte():
    assert _file().encode("ascii") == (GOLDEN / "standard18.txt").read_bytes()


def test_csv_matches_the_golden_file_byte_for_byte():
    text = payments_csv(COUNCIL, PAYMENTS, processing_date=PROCESSING)
    assert text.encode("utf-8") == (GOLDEN / "payments.csv").read_bytes()


# The shape of the file ---------------------------------------------------------------------------


def test_labels_are_80_characters_and_records_100_in_the_standard_order():
    lines = _lines(_file())
    assert [line[:4] for line in lines[:4]] == ["VOL1", "HDR1", "HDR2", "UHL1"]
    assert [line[:4] for line in lines[-3:]] == ["EOF1", "EOF2", "UTL1"]
    assert [len(line) for line in lines[:4] + lines[-3:]] == [80] * 7
    assert [len(line) for line in _records(_file())] == [100] * (len(PAYMENTS) + 1)


def test_labels_carry_the_service_user_number_serial_and_dates():
    vol1, hdr1, hdr2, uhl1, *_, eof1, eof2, _utl = _lines(_file(file_serial=42))
    assert vol1[4:10] == "000042" and vol1[41:47] == "123456" and vol1[79] == "1"
    assert vol1[10:41].strip() == "" and vol1[47:79].strip() == ""
    assert hdr1[4:21] == "A123456S   123456"
    assert hdr1[21:27] == "000042"  # the set identification is the VOL1 serial
    assert hdr1[41:47] == " 25062" and hdr1[47:53] == " 25064"  # created, expires (the processing day)
    assert hdr2[4:15] == "F0200000100"
    assert uhl1[4:10] == " 25064" and uhl1[10:20] == "999999    " and uhl1[28:40] == "1 DAILY  001"
    assert eof1 == "EOF1" + hdr1[4:] and eof2 == "EOF2" + hdr2[4:]


@pytest.mark.parametrize(
    ("day", "julian"),
    [
        (dt.date(2025, 1, 1), " 25001"),
        (dt.date(2025, 12, 31), " 25365"),
        (dt.date(2024, 12, 31), " 24366"),  # a leap year
        (dt.date(2030, 2, 1), " 30032"),
    ],
)
def test_the_processing_day_is_a_julian_date(day, julian):
    uhl1 = _lines(_file(processing_date=day, created_on=day))[3]
    assert uhl1[4:10] == julian


def test_each_credit_pays_the_payee_from_the_councils_account():
    records = [_record(line) for line in _records(_file())]
    for payment, record in zip(PAYMENTS, records):
        assert record["sort_code"] == payment.sort_code and record["account_number"] == payment.account_number
        assert record["account_type"] == "0" and record["code"] == "99" and record["free"] == "    "
        assert (record["from_sort_code"], record["from_account"]) == ("309634", "12345678")
        assert record["pence"] == payment.amount_pence
        assert record["originator_name"] == "NORTHSHIRE COUNTY "
        assert record["reference"] == bacs_text(payment.reference, 18)
        assert record["payee_name"] == bacs_text(payment.payee_name, 18)


def test_the_contra_debits_the_council_for_the_total_of_the_credits():
    *credits, contra = (_record(line) for line in _records(_file()))
    assert contra["code"] == "17"
    assert (contra["sort_code"], contra["account_number"]) == ("309634", "12345678")
    assert (contra["from_sort_code"], contra["from_account"]) == ("309634", "12345678")
    assert contra["pence"] == sum(c["pence"] for c in credits) == 5_123_555
    assert contra["reference"] == "CONTRA            "
    assert contra["payee_name"] == contra["originator_name"] == "NORTHSHIRE COUNTY "


def test_utl1_totals_and_counts_are_those_of_the_records():
    text = _file()
    assert _utl1(text) == _totals_of_records(text) == {"debit_pence": 5_123_555, "credit_pence": 5_123_555, "debits": 1, "credits": 3}


def test_only_bacs_characters_appear():
    text = _file()
    assert text.isascii()
    for line in _lines(text):
        assert set(line) <= BACS_CHARACTERS, line


def test_payments_keep_their_order():
    reordered = tuple(reversed(PAYMENTS))
    assert [_record(line)["sort_code"] for line in _records(_file(reordered))][:-1] == [p.sort_code for p in reordered]


@settings(max_examples=150, deadline=None, database=None)
@given(
    payments=st.lists(
        st.builds(
            Payment,
            sort_code=st.text("0123456789", min_size=6, max_size=6),
            account_number=st.text("0123456789", min_size=8, max_size=8),
            amount_pence=st.integers(min_value=1, max_value=MAX_AMOUNT_PENCE // 40),
            reference=st.builds(str.__add__, st.sampled_from("Pp7"), st.text(max_size=30)),
            payee_name=st.builds(str.__add__, st.sampled_from("Aé9"), st.text(max_size=40)),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_for_any_payments_the_totals_parse_back_equal(payments):
    text = _file(payments)
    total = sum(p.amount_pence for p in payments)
    assert _utl1(text) == _totals_of_records(text) == {"debit_pence": total, "credit_pence": total, "debits": 1, "credits": len(payments)}
    lines = _lines(text)
    assert all(len(line) == 100 for line in _records(text))
    assert all(len(line) == 80 for line in lines[:4] + lines[-3:])
    assert all(set(line) <= BACS_CHARACTERS for line in lines)


# Refusals ---------------------------------------------------------------------------------------


def _with(position: int, **changes) -> tuple[Payment, ...]:
    payments = list(PAYMENTS)
    payments[position] = dataclasses.replace(payments[position], **changes)
    return tuple(payments)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"sort_code": "12-34-56"}, "sort code '12-34-56' is not 6 digits"),
        ({"sort_code": "12345"}, "sort code '12345' is not 6 digits"),
        ({"sort_code": "١٢٣٤٥٦"}, "is not 6 digits"),  # Arabic-Indic digits are not ASCII digits
        ({"account_number": "1234567"}, "account number '1234567' is not 8 digits"),
        ({"account_number": "1234567X"}, "account number '1234567X' is not 8 digits"),
        ({"amount_pence": 0}, "amount 0 pence is not between 1 and 99999999999 pence"),
        ({"amount_pence": -5}, "amount -5 pence is not between 1"),
        ({"amount_pence": MAX_AMOUNT_PENCE + 1}, "amount 100000000000 pence is not between"),
        ({"amount_pence": 12.5}, "amount 12.5 is not a whole number of pence"),
        ({"amount_pence": True}, "amount True is not a whole number of pence"),
        ({"reference": "  '' "}, "the reference has no letters or digits"),
        ({"payee_name": "***"}, "the payee name has no letters or digits"),
    ],
)
def test_a_bad_payment_is_refused_naming_it_and_the_field(changes, message):
    payments = _with(1, **changes)
    bad = payments[1]
    for make in (lambda: _file(payments), lambda: payments_csv(COUNCIL, payments, processing_date=PROCESSING)):
        with pytest.raises(BacsError) as refused:
            make()
        assert f"payment 2 (reference {bad.reference!r}, payee {bad.payee_name!r})" in str(refused.value)
        assert message in str(refused.value)


def test_no_payments_is_refused():
    with pytest.raises(BacsError, match="no payments"):
        _file(())
    with pytest.raises(BacsError, match="no payments"):
        payments_csv(COUNCIL, [], processing_date=PROCESSING)


def test_a_total_too_large_for_the_contra_is_refused():
    """Each payment fits its 11 digits, but the contra carries their total in 11 digits too."""
    big = (Payment("112233", "00012345", MAX_AMOUNT_PENCE, "PR1", "A"), Payment("112233", "00012345", 1, "PR2", "B"))
    with pytest.raises(BacsError, match=r"total £1000000000\.00, more than the £999999999\.99"):
        _file(big)
    assert _utl1(_file(big[:1]))["credit_pence"] == MAX_AMOUNT_PENCE  # the largest total still fits


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"sort_code": "30963"}, "sort code '30963' is not 6 digits"),
        ({"account_number": "123 45678"}, "account number '123 45678' is not 8 digits"),
        ({"service_user_number": "B12345"}, "service user number 'B12345' is not 6 digits"),
        ({"name": "!!!"}, "the name has no letters or digits"),
    ],
)
def test_a_bad_originator_is_refused(changes, message):
    council = dataclasses.replace(COUNCIL, **changes)
    with pytest.raises(BacsError, match="originator") as refused:
        _file(originator=council)
    assert message in str(refused.value)
    with pytest.raises(BacsError, match="originator"):
        payments_csv(council, PAYMENTS, processing_date=PROCESSING)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"file_serial": 0}, "file serial 0 is not between 1 and 999999"),
        ({"file_serial": 1_000_000}, "file serial 1000000 is not between"),
        ({"created_on": dt.date(2025, 3, 6)}, "processing date 2025-03-05 is before the file's creation date 2025-03-06"),
        ({"processing_date": dt.date(2025, 3, 8), "created_on": dt.date(2025, 3, 8)}, "2025-03-08 is a Saturday"),
    ],
)
def test_bad_file_details_are_refused(overrides, message):
    with pytest.raises(BacsError) as refused:
        _file(**overrides)
    assert message in str(refused.value)


def test_bacs_error_is_a_value_error():
    assert issubclass(BacsError, ValueError)


# CSV ----------------------------------------------------------------------------------------------


def _csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def test_csv_amounts_are_exact_pounds_from_pence():
    amounts = [1, 10, 99, 100, 12_345, MAX_AMOUNT_PENCE]
    payments = [Payment("112233", "00012345", pence, f"R{pence}", "Payee") for pence in amounts]
    rows = _csv_rows(payments_csv(COUNCIL, payments, processing_date=PROCESSING))
    assert [row[2] for row in rows[1:]] == ["0.01", "0.10", "0.99", "1.00", "123.45", "999999999.99"]


def test_csv_quotes_commas_quotes_and_line_breaks_and_reads_back():
    payee = 'Smith, "Jones"\nand Co'
    text = payments_csv(COUNCIL, [Payment("112233", "00012345", 500, "R1", payee)], processing_date=PROCESSING)
    assert '"Smith, ""Jones""\nand Co"' in text
    assert _csv_rows(text)[1] == ["112233", "00012345", "5.00", "R1", payee, "2025-03-05"]


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t"])
def test_csv_text_a_spreadsheet_would_run_gets_an_apostrophe(start):
    payment = Payment("112233", "00012345", 500, f"{start}1+1 ref", f"{start}HYPERLINK(x) Ltd")
    row = _csv_rows(payments_csv(COUNCIL, [payment], processing_date=PROCESSING))[1]
    assert row[3] == f"'{start}1+1 ref" and row[4] == f"'{start}HYPERLINK(x) Ltd"


def test_csv_header():
    header = _csv_rows(payments_csv(COUNCIL, PAYMENTS[:1], processing_date=PROCESSING))[0]
    assert header == ["Sort code", "Account number", "Amount (GBP)", "Reference", "Payee name", "Processing date"]


# Account details and text -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12-34-56", "123456"),
        ("12 34 56", "123456"),
        ("123456", "123456"),
        (" 12-34-56 ", "123456"),
        ("00-00-01", "000001"),
        ("12-34 56", None),  # mixed separators
        ("12--34-56", None),
        ("1234-56", None),
        ("12345", None),
        ("1234567", None),
        ("12-34-5X", None),
        ("", None),
        ("١٢٣٤٥٦", None),
    ],
)
def test_normalise_sort_code(text, expected):
    assert normalise_sort_code(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12345678", "12345678"),
        ("1234 5678", "12345678"),
        ("1234-5678", "12345678"),
        (" 12345678 ", "12345678"),
        ("1234567", "01234567"),
        ("123456", "00123456"),
        ("12345", None),
        ("123456789", None),
        ("1234567890", None),  # 10-digit accounts need the bank's own conversion
        ("1234-567X", None),
        ("-12345678", None),
        ("1234  5678", None),
        ("", None),
    ],
)
def test_normalise_account_number(text, expected):
    assert normalise_account_number(text) == expected


@pytest.mark.parametrize(
    ("text", "width", "expected"),
    [
        ("Héloïse & Daughters Care", 18, "HELOISE & DAUGHTER"),
        ("O'Neill", 18, "O NEILL           "),
        ("Straße", 8, "STRASSE "),
        ("Åsa Ørsted Œuvre Łódź Þór", 30, "ASA ORSTED OEUVRE LODZ THOR   "),
        ("  a,  b;\tc  ", 6, "A B C "),
        ("pr12/p0036 x.y-z", 18, "PR12/P0036 X.Y-Z  "),
        ("£100 @ 5% (net)", 18, "100 5 NET         "),
        ("ﬁne ½", 8, "FINE 1 2"),
        ("日本", 4, "    "),
        ("", 3, "   "),
        ("ABCDEF", 0, ""),
    ],
)
def test_bacs_text(text, width, expected):
    assert bacs_text(text, width) == expected


def test_bacs_text_refuses_a_negative_width():
    with pytest.raises(ValueError, match="negative"):
        bacs_text("x", -1)
