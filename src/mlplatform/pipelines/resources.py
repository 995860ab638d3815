"""How many BLAS/OpenMP threads one task may use.

Measured on a 2-core machine: a foreach fan-out whose tasks each start one thread per core ran
3-5x slower than one plain script, from oversubscription. Each task gets cores / parallel tasks.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from threadpoolctl import threadpool_limits


def available_cores() -> int:
    return max(1, len(os.sched_getaffinity(0)))


def threads_per_task(parallel_tasks: int) -> int:
    # On AWS Batch each task is its own container sized by @resources: it is alone there.
    if os.environ.get("AWS_BATCH_JOB_ID"):
        parallel_tasks = 1
    return max(1, available_cores() // max(1, parallel_tasks))


@contextmanager
def capped_threads(parallel_tasks: int) -> Iterator[int]:
    threads = threads_per_task(parallel_tasks)
    with threadpool_limits(limits=threads):
        yield threads
