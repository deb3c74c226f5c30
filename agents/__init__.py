"""Agents of the twin: mesa Agents that make decisions (shuttles now; drones and parts later)."""
