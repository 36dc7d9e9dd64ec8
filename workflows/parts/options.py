"""Activity options every casework workflow uses."""

from __future__ import annotations

from datetime import timedelta

from temporalio.common import RetryPolicy

# Heartbeats (at every call to a dependency, each bounded to 10 s) let a crashed worker's
# activity be retried within 20 s instead of at its start-to-close timeout.
ACT = {"start_to_close_timeout": timedelta(seconds=45),
       "heartbeat_timeout": timedelta(seconds=20),
       "retry_policy": RetryPolicy(maximum_interval=timedelta(minutes=1))}
# Acting on the marketplace: a call may take 10 s; heartbeats between calls.
ENFORCE = {"start_to_close_timeout": timedelta(minutes=2),
           "heartbeat_timeout": timedelta(seconds=15),
           "retry_policy": RetryPolicy(maximum_interval=timedelta(seconds=30),
                                       non_retryable_error_types=["SubjectNotFound",
                                                                  "ActionRefused"])}
LOCAL = {"start_to_close_timeout": timedelta(seconds=10)}
LONG = {**ACT, "start_to_close_timeout": timedelta(minutes=30)}  # heartbeats its progress
