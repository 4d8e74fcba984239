"""No import cycles in the package. (The layers themselves are import-linter's contract in
pyproject.toml, which `make test` checks with `lint-imports` before the tests run.)"""

from __future__ import annotations

import grimp


def test_no_two_modules_import_each_other_even_indirectly() -> None:
    graph = grimp.build_graph("helpdesk")
    cycles = {
        tuple(sorted((module, imported)))
        for module in graph.modules
        for imported in graph.find_modules_directly_imported_by(module)
        if graph.find_shortest_chain(importer=imported, imported=module)
    }
    assert not cycles
