"""The registry of computation kinds, by the name a tariff file selects them with."""

from __future__ import annotations

from collections.abc import Mapping

from . import kinds_common, kinds_joint, kinds_merchant, kinds_passport, kinds_tv
from .computation import KindSpec

KINDS: Mapping[str, KindSpec] = {
    spec.name: spec
    for spec in (
        *kinds_common.SPECS,
        *kinds_tv.SPECS,
        *kinds_joint.SPECS,
        *kinds_passport.SPECS,
        *kinds_merchant.SPECS,
    )
}
