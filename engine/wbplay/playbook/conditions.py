"""``when:`` conditions: on variables, host facts and earlier steps' outcomes.

A condition is a mapping (``{var: x, equals: true}``, ``{fact: build, gte: 9200}``,
``{step: id, status: [ok, fixed]}``, ``{all: [...]}``, ``{any: [...]}``,
``{not: ...}``) or a list meaning *all of them*.  Step statuses are the
*planned* outcomes in a dry-run (a step that would be fixed counts as
``fixed``), so a dry-run takes the same branches as the real run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wbplay.playbook.matchers import MATCHER_KEYS, matches


def holds(
    cond: Any, *, variables: Mapping[str, Any], facts: Mapping[str, Any], statuses: Mapping[str, str]
) -> bool:
    if cond is None:
        return True
    if isinstance(cond, list):
        return all(holds(c, variables=variables, facts=facts, statuses=statuses) for c in cond)
    matcher = {k: v for k, v in cond.items() if k in MATCHER_KEYS}
    if "var" in cond:
        return matches(matcher, variables.get(cond["var"]))
    if "fact" in cond:
        return matches(matcher, facts.get(cond["fact"]))
    if "step" in cond:
        return statuses.get(cond["step"]) in cond["status"]
    kw = {"variables": variables, "facts": facts, "statuses": statuses}
    if "all" in cond:
        return all(holds(c, **kw) for c in cond["all"])
    if "any" in cond:
        return any(holds(c, **kw) for c in cond["any"])
    if "not" in cond:
        return not holds(cond["not"], **kw)
    raise ValueError(f"not a condition: {cond!r}")  # the schema makes this unreachable
