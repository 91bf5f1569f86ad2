"""Drivers run sans-I/O flows over a transport."""
