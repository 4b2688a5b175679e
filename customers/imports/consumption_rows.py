"""Consumption rows: the rules of customers.consumption (consumption_check), applied to the whole file
before anything is written, then one consumption_write."""

from collections.abc import Iterable

from customers.consumption import consumption_check, consumption_write
from customers.imports.columns import ColumnMap
from customers.imports.readers import as_text
from customers.imports.rows import Rejection, SourceRow, rejections_for, with_cell_notes
from customers.models import Customer


class ConsumptionImporter:
    def __init__(self, *, job, columns: ColumnMap) -> None:
        self.columns = columns
        self.visible = Customer.objects.visible_to(job.created_by)
        self.rejections: list[Rejection] = []
        self.rejected_rows = 0
        self._rows: list[dict] = []
        self._numbers: list[int] = []
        self._noted: dict[int, SourceRow] = {}
        self._records: list = []

    def check(self, rows: Iterable[SourceRow]) -> None:
        """Collect a chunk; the rules run over the whole file in finish_check, so that a duplicate
        account and period is found wherever in the file it stands."""
        for row in rows:
            values = dict(row.values)
            values["account_no"] = as_text(values.get("account_no"))  # 3100000001.0 from a number cell
            self._rows.append(values)
            self._numbers.append(row.number)
            if row.problems or row.merged:
                self._noted[row.number] = row

    def finish_check(self) -> None:
        result, good = consumption_check(rows=self._rows, customers=self.visible, row_numbers=self._numbers)
        failed: dict[int, tuple[str, dict]] = {
            error["row"]: (error["account_no"], error["errors"]) for error in result.errors
        }
        for number, row in self._noted.items():
            account_no, errors = failed.get(number, (as_text(row.values.get("account_no")), {}))
            errors = with_cell_notes(row, errors)
            if errors:
                failed[number] = (account_no, errors)
        for number in sorted(failed):
            account_no, errors = failed[number]
            self.rejections.extend(rejections_for(number, account_no, errors, self.columns))
        self.rejected_rows = len(failed)
        self._records = [record for number, record in good if number not in failed]
        self._rows, self._numbers, self._noted = [], [], {}

    def write(self) -> tuple[int, int, int]:
        """(created, updated, unchanged): an upsert tells no unchanged reading from an updated one."""
        if not self._records:
            return 0, 0, 0
        created, updated = consumption_write(self._records)
        return created, updated, 0
