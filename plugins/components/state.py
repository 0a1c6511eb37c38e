"""A method's state as its networks' weights, by attribute name: what `state_dict` and
`load_state_dict` of most built-ins are."""

from __future__ import annotations

from typing import Any


def networks_state(owner: object, *names: str) -> dict[str, Any]:
    """{name: owner.name.state_dict()} for each named network."""
    return {name: getattr(owner, name).state_dict() for name in names}


def load_networks(owner: object, state: dict[str, Any], *names: str) -> None:
    """The inverse of `networks_state`; a missing name is a KeyError naming it."""
    for name in names:
        getattr(owner, name).load_state_dict(state[name])
