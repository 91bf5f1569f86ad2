"""The acquisition engine: every algorithm of the façades as a sans-I/O flow.

Each public function here checks a call's arguments the way MSAL does (raising or
warning at once) and returns a flow (:data:`tokensmith.protocol.effects.Flow`) that the
sync driver or the async driver runs unchanged. Cache-first acquisitions share
:func:`~tokensmith.engine.cache_first.cache_first`; token requests share
:mod:`~tokensmith.engine.token_call`. Nothing here does I/O, imports a transport or a
driver, or reads a result dict back to decide something the flow already knew.
"""
