"""The file import of `make bench` in a process of its own, as a worker runs it: `bench/run.py` creates
the import job and starts this with the job's id; it runs the job and prints the seconds it took.

Run in `bench/run.py`'s own process, the import measured 19,000 rows/s in two full runs where a fresh
process measured 26,000-28,000 on the same data: that process had just built a million customers
(not profiled; the likely cost is Python's garbage collector walking what the build left behind each
time the import's row objects set it off). A worker is not that process."""

import sys
import time

# isort: split
from harness import ROOT  # noqa: F401 - sets Django up (DJANGO_SETTINGS_MODULE and DATABASE_URL as run.py set them)

# isort: split

from customers.imports.jobs import import_run


def main() -> None:
    job_id = int(sys.argv[1])
    started = time.perf_counter()
    import_run(job_id=job_id)
    print(f"{time.perf_counter() - started:.6f}")


if __name__ == "__main__":
    main()
