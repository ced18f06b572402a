"""The ``matching`` library's HospitalResident, run in a process of its own (row 5)."""

from __future__ import annotations

import time
from multiprocessing.connection import Connection


def matching_worker(
    connection: Connection,
    residents: dict[str, list[str]],
    hospitals: dict[str, list[str]],
    capacities: dict[str, int],
) -> None:
    """Solve the game resident-optimal; send (seconds, [(resident, hospital), ...]).

    The time covers ``create_from_dictionaries`` and ``solve``, as edqueue's covers
    ``AllocationProblem`` and ``allocate``.
    """
    from matching.games import HospitalResident  # type: ignore[import-untyped]

    start = time.perf_counter()
    game = HospitalResident.create_from_dictionaries(residents, hospitals, capacities)
    result = game.solve(optimal="resident")
    elapsed = time.perf_counter() - start
    pairs = [(r.name, h.name) for h, members in result.items() for r in members]
    connection.send((elapsed, pairs))
    connection.close()
