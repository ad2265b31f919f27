"""``sluice demo``: the whole loop, narrated, on a fresh local stack (``run``); one module of steps per
capability (``datasets``, ``models``, ``serving``, ``monitoring``), all on the shared :class:`base.Demo`."""

from sluice.demo.run import run_demo

__all__ = ["run_demo"]
