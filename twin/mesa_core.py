"""mesa's ``Agent`` and ``Model`` without the rest of mesa: a run imports what it uses.

``import mesa`` runs mesa's package ``__init__``, which imports every part of mesa at once: the
data collector and batch runner (pandas, tqdm, asyncio, ssl) and the spaces (networkx,
scipy.spatial), about 0.6 s of a cold ``twin run`` that uses none of them. The twin's agents and
model need two modules, ``mesa.agent`` and ``mesa.model``, which import only numpy; how they are
imported without the package's ``__init__`` is one of the speed-ups (:func:`gwangju_twin.speedups.import_mesa`),
switched off with the others.
"""

from __future__ import annotations

from gwangju_twin import speedups

_agent_module, _model_module = speedups.import_mesa()
Agent = _agent_module.Agent
AgentSet = _agent_module.AgentSet
Model = _model_module.Model

__all__ = ["Agent", "AgentSet", "Model"]
