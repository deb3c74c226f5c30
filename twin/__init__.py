"""Digital twin of Gwangju's autonomous-mobility testbed: engine, maps, scenarios, runner.

Layers point one way: ``viz`` imports ``twin`` and ``agents``; ``twin`` never imports ``viz``,
so a headless run never loads pygame.
"""

__version__ = "0.1.0"
