"""Where a campaign's rows come from: the API's list, a CSV or XLSX file, clients' contacts.

Each source is a generator of rows, so a file of 100,000 lines is read a batch at a time
and never held whole (the caller stores each batch and lets it go)."""

# A file's header row says which column is what: the address, the name, the attachments
# (stored file ids); every other column is a template variable named by its header. Row numbers
# are the spreadsheet's own (the header is row 1), so a report's "row 7" is row 7 on screen.

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import IO, Any
from zipfile import BadZipFile

from sqlalchemy import select
from sqlalchemy.orm import Session

from postroom.db.models_crm import Client, Contact
from postroom.errors import FieldProblem, NotFoundError, ValidationError
from postroom.services import clients
from postroom.services.campaign_schemas import MAX_ATTACHMENTS_PER_ROW, RecipientRow

EMAIL_HEADERS = frozenset({"email", "e-mail", "mail", "adres e-mail", "adres email", "adres"})
NAME_HEADERS = frozenset({"name", "nazwa", "imię i nazwisko", "odbiorca", "full name"})
ATTACHMENT_HEADERS = frozenset(
    {"attachments", "attachment", "attachment_file_ids", "załączniki", "załącznik", "pliki"}
)
_SNIFF_BYTES = 64 * 1024
_DELIMITERS = ",;\t"
_MAX_CELL_CHARS = 10_000


@dataclass(frozen=True)
class RowInput:
    """One row as read, before it is checked; `problems` were found while reading it."""

    row_number: int
    email: str
    name: str = ""
    variables: dict[str, Any] = field(default_factory=dict)
    attachment_file_ids: tuple[int, ...] = ()
    problems: tuple[FieldProblem, ...] = ()


@dataclass(frozen=True)
class Columns:
    """What each column of a file holds, by position."""

    email: int
    name: int | None
    attachments: int | None
    variables: tuple[tuple[int, str], ...]


def rows_from_api(rows: Sequence[RecipientRow], first_row: int = 1) -> Iterator[RowInput]:
    for offset, row in enumerate(rows):
        yield RowInput(
            row_number=first_row + offset,
            email=row.email.strip(),
            name=row.name.strip(),
            variables=dict(row.variables),
            attachment_file_ids=tuple(row.attachment_file_ids),
        )


def _file_problem(message: str, code: str = "invalid_file") -> ValidationError:
    return ValidationError.for_field("file", message, code)


def columns_of(header: Sequence[Any]) -> Columns:
    """The meaning of each column from the header row, or a refusal naming what is wrong."""
    names = [str(cell).strip() if cell is not None else "" for cell in header]
    email = name = attachments = None
    variables: list[tuple[int, str]] = []
    seen: set[str] = set()
    for index, title in enumerate(names):
        key = title.casefold()
        if not title:
            continue
        if key in seen:
            raise _file_problem(f"The column “{title}” appears twice in the header row.")
        seen.add(key)
        if key in EMAIL_HEADERS and email is None:
            email = index
        elif key in NAME_HEADERS and name is None:
            name = index
        elif key in ATTACHMENT_HEADERS and attachments is None:
            attachments = index
        else:
            variables.append((index, title))
    if email is None:
        raise _file_problem(
            "The first row must name the columns, one of them “email” (or “e-mail”, “adres "
            "e-mail”): the recipients' addresses.",
            "no_email_column",
        )
    return Columns(email, name, attachments, tuple(variables))


def _cell(value: Any) -> Any:
    """A cell as a template variable: text stripped, whole numbers as int, dates as ISO text."""
    if isinstance(value, str):
        return value.strip()[:_MAX_CELL_CHARS]
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def _file_ids(value: Any) -> tuple[tuple[int, ...], tuple[FieldProblem, ...]]:
    """ "12; 15" or "12,15" or 12 → (12, 15); anything else is a row problem."""
    if value is None or value == "":
        return (), ()
    if isinstance(value, int | float) and float(value).is_integer():
        return (int(value),), ()
    parts = str(value).replace(";", " ").replace(",", " ").split()
    if parts and all(p.isdigit() for p in parts) and len(parts) <= MAX_ATTACHMENTS_PER_ROW:
        return tuple(int(p) for p in parts), ()
    problem = FieldProblem(
        "attachments",
        f"“{str(value)[:80]}” is not a list of file ids (like 12; 15), at most "
        f"{MAX_ATTACHMENTS_PER_ROW}.",
        "invalid_attachment",
    )
    return (), (problem,)


def _variables(columns: Columns, at: Callable[[int | None], Any]) -> dict[str, Any]:
    """The row's values by column title; an empty cell is no value at all, so a template that
    needs it reports the row instead of sending a blank (a missing variable)."""
    found = {}
    for index, title in columns.variables:
        value = _cell(at(index))
        if value is not None and value != "":
            found[title] = value
    return found


def row_of(columns: Columns, row_number: int, cells: Sequence[Any]) -> RowInput | None:
    """One data row, or None when it is empty (a blank line keeps its number)."""
    if all(c is None or (isinstance(c, str) and not c.strip()) for c in cells):
        return None

    def at(index: int | None) -> Any:
        return cells[index] if index is not None and index < len(cells) else None

    ids, problems = _file_ids(at(columns.attachments))
    email = at(columns.email)
    name = at(columns.name)
    return RowInput(
        row_number=row_number,
        email=str(email).strip() if email is not None else "",
        name=str(name).strip() if name is not None else "",
        variables=_variables(columns, at),
        attachment_file_ids=ids,
        problems=problems,
    )


def _table_rows(table: Iterable[Sequence[Any]]) -> Iterator[RowInput]:
    lines = iter(table)
    header = next(lines, None)
    if header is None:
        raise _file_problem("The file is empty: the first row must name the columns.", "empty")
    columns = columns_of(header)
    for row_number, cells in enumerate(lines, start=2):
        row = row_of(columns, row_number, cells)
        if row is not None:
            yield row


def _encoding(head: bytes) -> str:
    """UTF-8 (with or without Excel's BOM), else Windows-1250, as older Polish Excel saves."""
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return "cp1250"
    return "utf-8-sig"


def _dialect(head: bytes, encoding: str) -> type[csv.Dialect]:
    sample = head.decode(encoding, errors="ignore")
    first_line = sample.splitlines()[0] if sample else ""
    try:
        return csv.Sniffer().sniff(first_line, delimiters=_DELIMITERS)
    except csv.Error:
        return csv.excel  # one column, or the sniffer could not tell: commas


def rows_from_csv(stream: IO[bytes]) -> Iterator[RowInput]:
    """Rows of a CSV file (comma, semicolon or tab; UTF-8 or Windows-1250), streamed."""
    head = stream.read(_SNIFF_BYTES)
    stream.seek(0)
    encoding = _encoding(head)
    text = io.TextIOWrapper(stream, encoding=encoding, newline="")
    try:
        yield from _table_rows(csv.reader(text, dialect=_dialect(head, encoding)))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise _file_problem(f"The file cannot be read as CSV: {exc}.") from exc
    finally:
        text.detach()  # the caller closes the upload itself


def rows_from_xlsx(stream: IO[bytes]) -> Iterator[RowInput]:
    """Rows of the first sheet of an .xlsx workbook, read in read-only (streaming) mode."""
    from openpyxl import load_workbook  # only uploads need it: the import is not free

    try:
        book = load_workbook(stream, read_only=True, data_only=True)
    except (BadZipFile, KeyError, OSError, ValueError) as exc:
        raise _file_problem(f"The file is not an Excel workbook (.xlsx): {exc}.") from exc
    try:
        sheet = book.worksheets[0]
        yield from _table_rows(sheet.iter_rows(values_only=True))
    finally:
        book.close()


def rows_from_upload(
    filename: str, content_type: str | None, stream: IO[bytes]
) -> Iterator[RowInput]:
    """CSV or XLSX, told by the file's name (or type); anything else is refused."""
    lowered = filename.lower()
    if lowered.endswith(".xlsx") or (content_type or "").endswith("spreadsheetml.sheet"):
        return rows_from_xlsx(stream)
    if lowered.endswith((".csv", ".txt")) or (content_type or "").startswith("text/"):
        return rows_from_csv(stream)
    raise _file_problem(
        "Upload a .csv or .xlsx file (the old .xls format is not read: save it as .xlsx).",
        "unsupported_file",
    )


def check_clients(session: Session, client_ids: Sequence[int]) -> None:
    """Every client named exists in the company (another company's does not)."""
    for index, client_id in enumerate(client_ids):
        try:
            clients.get_client(session, client_id)
        except NotFoundError as exc:
            raise ValidationError.for_field(
                f"client_ids[{index}]", exc.message, "unknown_client"
            ) from exc


def rows_from_clients(
    session: Session, client_ids: Sequence[int], first_row: int = 1
) -> Iterator[RowInput]:
    """Every contact person of the chosen clients, read a batch at a time; each row gets the
    client's name and tax id as variables."""
    query = (
        select(Contact.email, Contact.name, Client.name, Client.tax_id)
        .join(Client, Client.id == Contact.client_id)
        .where(Contact.client_id.in_(sorted(set(client_ids))))
        .order_by(Client.name, Client.id, Contact.id)
        .execution_options(yield_per=500)
    )
    for offset, (email, name, client_name, tax_id) in enumerate(session.execute(query)):
        yield RowInput(
            row_number=first_row + offset,
            email=email,
            name=name,
            variables={"client_name": client_name, "client_tax_id": tax_id or ""},
        )
