"""A local imitation of the Anthropic, OpenAI and Gemini streaming APIs, for the demo and tests."""

from mao_tui.simulator.faults import FaultKind, FaultRule, demo_faults
from mao_tui.simulator.server import RecordedRequest, Simulator

__all__ = ["FaultKind", "FaultRule", "RecordedRequest", "Simulator", "demo_faults"]
