"""gunicorn configuration for tests/crm/test_faults_commit.py only: the web process is the product's
(crm.wsgi under gunicorn), except that the step after a consumption write, instead of running,
writes a marker file and waits, so the test can SIGKILL the process after its COMMIT and before the
step is sent."""

import os
import time

bind = os.environ["FAULT_BIND"]
workers = 1
timeout = 600


def post_worker_init(worker):
    from crm import jobs

    marker = os.environ["FAULT_MARKER"]

    def committed_then_stuck(**kwargs):
        with open(marker, "w") as out:
            out.write("committed")
        time.sleep(600)

    jobs.consumption_landed = committed_then_stuck
