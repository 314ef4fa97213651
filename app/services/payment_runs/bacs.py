"""The council's payment file: Bacs Standard 18 (what Bacs-approved software submits), and a
CSV of the same payments for banks and people that take one.

Standard 18 itself is published to Bacs members only, so the layout below comes from the
public guides banks give their customers:

- "Settings of the BACS HSBC File", MYOB Acumatica help, which tabulates HSBC's "Message
  Implementation Guide: BACS Standard 18" (August 2012) label by label:
  https://help.myob.com.au/advanced/Docs/Published/UserGuide/CA__CON_Settings_of_BACS_HSBC_Plug-In.html
- Bank of Ireland, "Appendix 2 - BACS File Specification" (VOL1 and HDR1 validity rules):
  https://www.scribd.com/document/668157420/BACS-File-Spec
- The Bacstel-IP response codes 1805-1816 (what the UTL1 counts and totals must include),
  transaction codes 99 and 17 (http://www.unifiedsoftware.co.uk/resources/bacscodes.html),
  and the " yyddd" date (http://faq.webpayrolltraining.co.uk/5111.htm).

Positions are 1-based and inclusive; b is a space; every date is " yyddd" (a space, the
year's last two digits, the day of the year 001-366).

VOL1 (80): 1-4 "VOL1", 5-10 file serial (zero-filled, not all zeros), 11 space (accessibility),
  12-41 spaces, 42-47 service user number (SUN), 48-79 spaces, 80 "1" (label standard level).
HDR1 (80): 1-4 "HDR1", 5-21 file identifier "A" + SUN + "S" + 3 spaces + SUN, 22-27 set
  identification (the VOL1 serial), 28-31 "0001" (file section), 32-35 "0001" (file sequence),
  36-41 spaces (generation), 42-47 creation date, 48-53 expiration date (we use the processing
  day: not before creation, and the file has no use after it), 54 space, 55-60 "000000" (block
  count), 61-80 spaces.
HDR2 (80): 1-4 "HDR2", 5 "F" (fixed records), 6-10 "02000" (block length), 11-15 "00100"
  (record length), 16-50 spaces, 51-52 "00" (buffer offset), 53-80 spaces.
UHL1 (80): 1-4 "UHL1", 5-10 processing day, 11-20 "999999" + 4 spaces (receiving party),
  21-22 "00" (sterling), 23-28 "000000" (country), 29-37 "1 DAILY  " (work code: one processing
  day, so 100-character records without the 6-character day at 101-106), 38-40 "001" (file
  number), 41-80 spaces (audit print identifier and user's own use).
Data record (100): 1-6 destination sort code, 7-14 destination account, 15 "0" (account type),
  16-17 transaction code, 18-23 originator's sort code, 24-31 originator's account, 32-35
  spaces ("free format": HMRC's RTI payroll hash goes there, nothing else of ours does), 36-46
  amount in pence (11 digits, zero-filled), 47-64 originator's name, 65-82 reference,
  83-100 destination account name. Text is upper case A-Z, 0-9, space and . & / - only.
  One credit ("99") per payment, then one contra ("17") debiting the council's own account
  with their total: reference "CONTRA", the council's name in 47-64 and 83-100.
EOF1, EOF2 (80): HDR1 and HDR2 again with "EOF1" and "EOF2" in 1-4.
UTL1 (80): 1-4 "UTL1", 5-17 debit total, 18-30 credit total (pence, 13 digits each), 31-37
  debit count, 38-44 credit count (7 digits each), 45-80 spaces. The debit figures cover the
  debits and credit contras (here: our one contra), the credit figures the credits and debit
  contras (here: our payments).

Line endings: the Standard describes fixed-length records (it comes from tape labels), not
lines. The file is handed to Bacs-approved software as text with one record a line; we end
every record, the last one included, with CR LF (the Windows text convention those packages
and the banks' import formats use). Every character is ASCII.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

CREDIT = "99"  # a Bacs direct credit to the payee
CONTRA_DEBIT = "17"  # the debit to the originator's own account that balances the credits
CONTRA_REFERENCE = "CONTRA"
RECORD_WIDTH = 100
LABEL_WIDTH = 80
TEXT_WIDTH = 18  # names and references in a data record
MAX_AMOUNT_PENCE = 99_999_999_999  # 11 digits: one payment, and the contra carrying the total
MAX_COUNT = 9_999_999  # 7 digits in UTL1
MAX_FILE_SERIAL = 999_999
LINE_END = "\r\n"
BACS_CHARACTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .&/-")
CSV_HEADER = ("Sort code", "Account number", "Amount (GBP)", "Reference", "Payee name", "Processing date")

# Letters Unicode does not decompose into a base letter and an accent.
_LETTERS_OF_THEIR_OWN = {"Æ": "AE", "Ø": "O", "Œ": "OE", "Ł": "L", "Đ": "D", "Ð": "D", "Þ": "TH", "ẞ": "SS", "Ħ": "H", "Ŧ": "T"}
_SORT_CODE = re.compile(r"([0-9]{2})([- ]?)([0-9]{2})\2([0-9]{2})")
_ACCOUNT_NUMBER = re.compile(r"[0-9]+(?:[- ][0-9]+)*")
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Originator:
    """The council paying: its own account (debited by the contra) and its Bacs identity."""

    sort_code: str  # 6 digits
    account_number: str  # 8 digits
    name: str  # the council's name, as given
    service_user_number: str  # 6 characters (Bacs SUN), digits


@dataclass(frozen=True)
class Payment:
    """One credit to a provider's account."""

    sort_code: str
    account_number: str
    amount_pence: int  # > 0
    reference: str  # shown on the payee's statement (e.g. "PR12 P0034")
    payee_name: str


class BacsError(ValueError):
    """The payments cannot make a valid file; the message says which payment and which field."""


# Text and account details ---------------------------------------------------------------------


def bacs_text(text: str, width: int) -> str:
    """``text`` in the Bacs character set, exactly ``width`` long: upper case; accented letters
    folded to their ASCII letter (É -> E, ß -> SS, Ø -> O); anything else outside A-Z 0-9 space
    . & / - becomes a space; runs of spaces become one and none lead; then cut or space-padded."""
    if width < 0:
        raise ValueError(f"width must not be negative, not {width}")
    decomposed = unicodedata.normalize("NFKD", text.upper()).upper()  # again: NFKD can give "ª" -> "a"
    folded = "".join(_fold(char) for char in decomposed)
    return " ".join(folded.split())[:width].ljust(width)


def _fold(char: str) -> str:
    if unicodedata.combining(char):
        return ""
    if char in BACS_CHARACTERS:
        return char
    return _LETTERS_OF_THEIR_OWN.get(char, " ")


def normalise_sort_code(text: str) -> str | None:
    """A sort code as people write it ("12-34-56", "12 34 56", "123456") -> "123456"; anything else None."""
    match = _SORT_CODE.fullmatch(text.strip())
    return "".join(match.group(1, 3, 4)) if match else None


def normalise_account_number(text: str) -> str | None:
    """8 digits, perhaps split by single spaces or hyphens -> the 8 digits. 6 or 7 digits are
    left-padded with zeros, as UK banks do; anything else (10-digit accounts included) None."""
    stripped = text.strip()
    if not _ACCOUNT_NUMBER.fullmatch(stripped):
        return None
    digits = stripped.replace(" ", "").replace("-", "")
    return digits.zfill(8) if 6 <= len(digits) <= 8 else None


def _is_digits(value: object, length: int) -> bool:
    return isinstance(value, str) and len(value) == length and all(char in "0123456789" for char in value)


def _pounds(pence: int) -> str:
    """Exact pounds and pence from integer pence: 123456 -> "1234.56"."""
    return f"{pence // 100}.{pence % 100:02d}"


# Validation ------------------------------------------------------------------------------------


def _check_originator(originator: Originator) -> None:
    if not _is_digits(originator.sort_code, 6):
        raise BacsError(f"originator {originator.name!r}: sort code {originator.sort_code!r} is not 6 digits")
    if not _is_digits(originator.account_number, 8):
        raise BacsError(f"originator {originator.name!r}: account number {originator.account_number!r} is not 8 digits")
    if not _is_digits(originator.service_user_number, 6):
        raise BacsError(f"originator {originator.name!r}: service user number {originator.service_user_number!r} is not 6 digits")
    if not bacs_text(originator.name, TEXT_WIDTH).strip():
        raise BacsError(f"originator {originator.name!r}: the name has no letters or digits Bacs can carry")


def _check_payment(position: int, payment: Payment) -> None:
    which = f"payment {position} (reference {payment.reference!r}, payee {payment.payee_name!r})"
    if not _is_digits(payment.sort_code, 6):
        raise BacsError(f"{which}: sort code {payment.sort_code!r} is not 6 digits")
    if not _is_digits(payment.account_number, 8):
        raise BacsError(f"{which}: account number {payment.account_number!r} is not 8 digits")
    amount = payment.amount_pence
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise BacsError(f"{which}: amount {amount!r} is not a whole number of pence")
    if not 0 < amount <= MAX_AMOUNT_PENCE:
        raise BacsError(f"{which}: amount {amount} pence is not between 1 and {MAX_AMOUNT_PENCE} pence")
    if not bacs_text(payment.reference, TEXT_WIDTH).strip():
        raise BacsError(f"{which}: the reference has no letters or digits Bacs can carry")
    if not bacs_text(payment.payee_name, TEXT_WIDTH).strip():
        raise BacsError(f"{which}: the payee name has no letters or digits Bacs can carry")


def _check_payments(payments: Sequence[Payment]) -> None:
    if not payments:
        raise BacsError("there are no payments: a payment file needs at least one")
    for position, payment in enumerate(payments, start=1):
        _check_payment(position, payment)


def _check_totals(payments: Sequence[Payment]) -> None:
    """The contra carries the total in 11 digits (UTL1 has 13); the counts have 7 digits."""
    total = sum(payment.amount_pence for payment in payments)
    if total > MAX_AMOUNT_PENCE:
        raise BacsError(
            f"the {len(payments)} payments total £{_pounds(total)}, more than the £{_pounds(MAX_AMOUNT_PENCE)} "
            "one file's contra record can carry: split them into smaller files"
        )
    if len(payments) > MAX_COUNT:
        raise BacsError(f"{len(payments)} payments are more than the {MAX_COUNT} one file can count")


def _check_file(processing_date: dt.date, created_on: dt.date, file_serial: int) -> None:
    if not isinstance(file_serial, int) or isinstance(file_serial, bool) or not 1 <= file_serial <= MAX_FILE_SERIAL:
        raise BacsError(f"file serial {file_serial!r} is not between 1 and {MAX_FILE_SERIAL}")
    if processing_date < created_on:
        raise BacsError(f"processing date {processing_date.isoformat()} is before the file's creation date {created_on.isoformat()}")
    if processing_date.weekday() >= 5:
        raise BacsError(f"processing date {processing_date.isoformat()} is a {processing_date:%A}: Bacs does not process then")


# Standard 18 ----------------------------------------------------------------------------------


def _julian(date: dt.date) -> str:
    """A Bacs date, " yyddd": 5 March 2025 -> " 25064"."""
    return f" {date:%y%j}"


def _vol1(serial: str, sun: str) -> str:
    return f"VOL1{serial} {'':30}{sun}{'':32}1"


def _hdr1(serial: str, sun: str, created_on: dt.date, expires_on: dt.date) -> str:
    file_identifier = f"A{sun}S{'':3}{sun}"
    return f"HDR1{file_identifier}{serial}00010001{'':6}{_julian(created_on)}{_julian(expires_on)} 000000{'':20}"


def _hdr2() -> str:
    return f"HDR2F{2000:05d}{RECORD_WIDTH:05d}{'':35}00{'':28}"


def _uhl1(processing_date: dt.date) -> str:
    return f"UHL1{_julian(processing_date)}{'999999':10}00000000{'1 DAILY':9}001{'':40}"


def _record(sort_code: str, account_number: str, code: str, originator: Originator, pence: int, texts: tuple[str, str, str]) -> str:
    """A data record; ``texts`` are the originator's name (or narrative), the reference and the
    destination account's name, each cut or padded to 18."""
    name, reference, destination = (bacs_text(text, TEXT_WIDTH) for text in texts)
    origin = originator.sort_code + originator.account_number
    return f"{sort_code}{account_number}0{code}{origin}{'':4}{pence:011d}{name}{reference}{destination}"


def _credit(originator: Originator, payment: Payment) -> str:
    texts = (originator.name, payment.reference, payment.payee_name)
    return _record(payment.sort_code, payment.account_number, CREDIT, originator, payment.amount_pence, texts)


def _contra(originator: Originator, total_pence: int) -> str:
    texts = (originator.name, CONTRA_REFERENCE, originator.name)
    return _record(originator.sort_code, originator.account_number, CONTRA_DEBIT, originator, total_pence, texts)


def _utl1(debit_pence: int, credit_pence: int, debits: int, credits: int) -> str:
    return f"UTL1{debit_pence:013d}{credit_pence:013d}{debits:07d}{credits:07d}{'':36}"


def standard18(
    originator: Originator, payments: Sequence[Payment], *, processing_date: dt.date, created_on: dt.date, file_serial: int
) -> str:
    """The payment file in Bacs Standard 18 (layout and sources in the module docstring): one
    credit per payment, in the order given, and one contra debiting the council for their total.
    Raises BacsError, naming the payment and field, for anything Bacs would reject."""
    _check_originator(originator)
    _check_payments(payments)
    _check_totals(payments)
    _check_file(processing_date, created_on, file_serial)
    serial, sun = f"{file_serial:06d}", originator.service_user_number
    total = sum(payment.amount_pence for payment in payments)
    hdr1, hdr2 = _hdr1(serial, sun, created_on, processing_date), _hdr2()
    lines = [
        _vol1(serial, sun),
        hdr1,
        hdr2,
        _uhl1(processing_date),
        *(_credit(originator, payment) for payment in payments),
        _contra(originator, total),
        "EOF1" + hdr1[4:],
        "EOF2" + hdr2[4:],
        _utl1(debit_pence=total, credit_pence=total, debits=1, credits=len(payments)),
    ]
    return "".join(line + LINE_END for line in lines)


# CSV ------------------------------------------------------------------------------------------


def _spreadsheet_safe(text: str) -> str:
    """A leading apostrophe on text a spreadsheet would run as a formula (OWASP "CSV injection")."""
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def payments_csv(originator: Originator, payments: Sequence[Payment], *, processing_date: dt.date) -> str:
    """The same payments as CSV: a header row, then per payment its sort code, account number,
    amount in pounds ("1234.56", exact from pence), reference, payee name (as given, not folded
    to Bacs characters) and the processing date (ISO). The originator and every payment are
    checked as for Standard 18, so both files refuse the same mistakes. Rows end CR LF."""
    _check_originator(originator)
    _check_payments(payments)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for payment in payments:
        writer.writerow(
            (
                payment.sort_code,
                payment.account_number,
                _pounds(payment.amount_pence),
                _spreadsheet_safe(payment.reference),
                _spreadsheet_safe(payment.payee_name),
                processing_date.isoformat(),
            )
        )
    return out.getvalue()
