"""Drivers run sans-I/O flows: :func:`~tokensmith.drivers.sync.run_flow` (threads,
blocking) and :func:`~tokensmith.drivers.asyncio.run_flow_async` (asyncio). Both carry
out the same closed set of effects (:mod:`tokensmith.protocol.effects`)."""
