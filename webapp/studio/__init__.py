"""The policy-owner studio at ``/studio``: its pages (:mod:`.pages`) and its JSON API (``/v1/studio``,
docs/studio-api.md)."""
