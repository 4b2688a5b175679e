"""Importing customers and monthly consumption from CSV and XLSX files as a marketing system
exports them.

The pieces, in the order a file meets them:
- `readers`: open a CSV (UTF-8 with or without BOM, GBK/GB18030, UTF-16) or an XLSX workbook and
  yield its rows with their row numbers as the user sees them; notes cells that are formulas without
  a saved result, Excel errors and merged-cell continuations.
- `columns`: find the header row and map Chinese or English column names to fields.
- `values`: turn marketing-system values (用电类别, "10kV", 一级, 销户 ...) into field values.
- `customer_rows` / `consumption_rows`: validate rows without per-row queries, then write them all
  in one transaction.
- `jobs`: the service that accepts an upload (`import_create`) and the runner that records status,
  progress, counts and rejected rows on the `ImportJob` (`import_run`).
"""
