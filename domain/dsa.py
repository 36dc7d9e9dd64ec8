"""Checks against the DSA Transparency Database API's enumerations."""

from domain.dsa_enums import ENUMS


def require(field: str, value: str) -> str:
    """Return `value` if the API accepts it for `field`, else raise ValueError naming both."""
    if value not in ENUMS[field]:
        raise ValueError(f"{value!r} is not an accepted {field}")
    return value
