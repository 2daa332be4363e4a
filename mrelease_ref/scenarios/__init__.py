"""Scenario builders: victims and setups shared by notebooks, tests and benchmarks.

Not kernel code. A scenario is data (a spec) plus a function that builds it on a Kernel.
"""

from mrelease_ref.scenarios.victims import MappingSpec, Victim, VictimSpec, build_victim

__all__ = ["MappingSpec", "Victim", "VictimSpec", "build_victim"]
