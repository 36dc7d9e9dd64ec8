"""Updates a record does not take: refused in one line that names no handler (the SDK's own
refusal lists them all). An Update renamed so that no two lifecycles share a name (a takedown's
`approve` is `approve_job`) keeps its old name here for the runs that recorded it: replay carries
them out as before, while a new call under the old name is refused like any unknown one."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from temporalio import workflow
from temporalio.common import RawValue

with workflow.unsafe.imports_passed_through():
    from domain.engine import Lifecycle
    from domain.errors import Refused


class OtherUpdates:
    lc: Lifecycle
    # old Update name -> (the handler it is now, its argument's type)
    RENAMED: ClassVar[dict[str, tuple[str, type]]] = {}

    @workflow.update(dynamic=True)
    async def other_update(self, name: str, args: Sequence[RawValue]) -> Any:
        """Only replay reaches here (the validator refuses every new call)."""
        handler, model = self.RENAMED[name]
        req = workflow.payload_converter().from_payload(args[0].payload, model)
        return await getattr(self, handler)(req)

    @other_update.validator
    def _refuse_other(self, name: str, args: Sequence[RawValue]) -> None:
        raise Refused(f"{self.lc.declaration.a_noun} takes no command {name!r}")
