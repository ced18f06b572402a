"""Implementations of the ports (:mod:`edqueue.ports`): in memory and over SQLite."""
