"""An import-linter contract type for allow-lists: the source modules may import nothing but
themselves, the modules listed and (if allowed) the standard library. `make lint` uses it
through pyproject.toml; a module added later is covered without editing the contract."""

from __future__ import annotations

import sys
from typing import Any

from importlinter import Contract, ContractCheck, fields, output


def _within(module: str, packages: set[str]) -> bool:
    return any(module == p or module.startswith(f"{p}.") for p in packages)


class AllowListContract(Contract):
    type_name = "allow_list"

    source_modules = fields.ListField(subfield=fields.StringField())
    allowed_modules = fields.ListField(subfield=fields.StringField(), required=False)
    allow_standard_library = fields.BooleanField(required=False, default=False)

    def check(self, graph: Any, verbose: bool) -> ContractCheck:
        sources = set(self.source_modules)  # type: ignore[call-overload]
        allowed = sources | set(self.allowed_modules or [])  # type: ignore[call-overload]
        stdlib = self.allow_standard_library
        illegal = []
        for importer in sorted(m for m in graph.modules if _within(m, sources)):
            for imported in sorted(graph.find_modules_directly_imported_by(importer)):
                top = imported.split(".")[0]
                if _within(imported, allowed) or (stdlib and top in sys.stdlib_module_names):
                    continue
                for detail in graph.get_import_details(importer=importer, imported=imported):
                    illegal.append(f"{importer} imports {imported} (line {detail['line_number']})")
                if not graph.get_import_details(importer=importer, imported=imported):
                    illegal.append(f"{importer} imports {imported}")
        return ContractCheck(kept=not illegal, metadata={"illegal": illegal})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for line in check.metadata["illegal"]:
            output.print_error(line, bold=False)
            output.new_line()
