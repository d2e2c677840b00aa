"""Packaging beyond what pyproject.toml can say: the wheel carries the bundled data folders.

``rules/``, ``tariffs/``, ``sources/`` (and the rule-file JSON Schema in ``docs/``) stay in the checkout (policy owners edit them
there); in the wheel they become the data-only packages ``engine.bundled.*`` so that an installed
``flets-elig check`` or server finds them outside a checkout (:mod:`engine.paths`).
"""

from pathlib import Path

from setuptools import find_namespace_packages, setup

FOLDERS = {
    "rules": ["*.yaml", "*.lock"],
    "tariffs": ["*.yaml", "*.lock"],
    "sources": ["*.yaml"],
    "docs": ["rule-format.schema.json"],  # the studio's editor completes from it
}
#: The folders of this checkout (tests/test_wheel.py proves the wheel carries all of them).
BUNDLED = {name: patterns for name, patterns in FOLDERS.items() if Path(name).is_dir()}

setup(
    packages=[
        *find_namespace_packages(include=["engine*", "webapp*"], exclude=["*.__pycache__"]),
        *(f"engine.bundled.{d}" for d in BUNDLED),
    ],
    package_dir={f"engine.bundled.{d}": d for d in BUNDLED},
    package_data={
        "webapp": ["templates/*.html", "templates/**/*.html", "static/*", "static/**/*"],
        **{f"engine.bundled.{d}": patterns for d, patterns in BUNDLED.items()},
    },
)
