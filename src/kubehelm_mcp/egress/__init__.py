"""Egress: the one rule for which hosts a fetch made on a tool's behalf may reach, and the proxy
that applies it to everything helm fetches."""
