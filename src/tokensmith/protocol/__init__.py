"""The sans-I/O protocol core: one module per grant or specification.

A flow is a generator that yields :class:`~tokensmith.transport.HttpRequest` or
:class:`~tokensmith.protocol.effects.Sleep` values, is sent back an
:class:`~tokensmith.transport.HttpResponse` (or ``None`` after a sleep), and returns its
result. Nothing in this package performs I/O or reads the clock directly.
"""
