"""What ingestion needs of each tenant's settings, in memory: its frequency caps and its compiled schemas.

Fed by settings rows in projection order, as the trigger index is, so every process converges: its
own changes at once, other processes' within one poll. A schema is compiled once per version.
"""

from application.ports import CompiledSchema, DataRejected, SchemaCompiler
from application.settings_listing import FREQUENCY_CAPS
from domain.event_schemas import InvalidSchema
from domain.frequency_caps import FrequencyCap, InvalidCaps, validated_caps

NO_CAPS: tuple = ()


class TenantSettings:
    def __init__(self, compiler: SchemaCompiler):
        self.compiler = compiler
        self.position = 0
        self._caps: dict[str, tuple[FrequencyCap, ...]] = {}
        self._schemas: dict[tuple[str, str], tuple[int, CompiledSchema]] = {}

    def apply(self, rows: list[dict], position: int) -> None:
        for row in rows:
            key = (row["tenant_id"], row["name"])
            if row["kind"] == FREQUENCY_CAPS:
                self._caps[row["tenant_id"]] = _caps(row["document"])
            elif row["document"] is None:
                self._schemas.pop(key, None)
            elif self._schemas.get(key, (0,))[0] != row["version"]:
                try:
                    self._schemas[key] = (row["version"], self.compiler.compile(row["document"]))
                except InvalidSchema:  # checked when it was saved; a library upgrade may think otherwise
                    self._schemas.pop(key, None)
        self.position = max(self.position, position)

    def caps(self, tenant_id: str) -> tuple[FrequencyCap, ...]:
        return self._caps.get(tenant_id, NO_CAPS)

    def check(self, tenant_id: str, event_type: str, data: dict) -> None:
        """Raises DataRejected, naming each failing path, when `data` breaks the type's schema."""
        found = self._schemas.get((tenant_id, event_type))
        if found is not None and (problems := found[1].problems(data)):
            raise DataRejected(problems)


def _caps(document) -> tuple[FrequencyCap, ...]:
    try:
        return validated_caps(document or [])
    except InvalidCaps:
        return NO_CAPS
