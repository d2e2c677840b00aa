"""docs/rules-catalogue.md is generated from rules/; it must not fall behind the rule files."""

from engine import Rulebook
from engine.paths import PROJECT_ROOT
from engine.rules.catalogue import render_catalogue


def test_committed_catalogue_matches_the_rules(bundled_rulebook: Rulebook) -> None:
    committed = (PROJECT_ROOT / "docs" / "rules-catalogue.md").read_text(encoding="utf-8")
    assert committed == render_catalogue(bundled_rulebook.all_rulesets()), (
        "run: .venv/bin/flets-elig catalogue > docs/rules-catalogue.md"
    )


def test_every_rule_is_listed_with_its_citation(bundled_rulebook: Rulebook) -> None:
    page = render_catalogue(bundled_rulebook.all_rulesets())
    for ruleset in bundled_rulebook.all_rulesets():
        for rule in ruleset.rules:
            assert f"| `{rule.id}` |" in page
            assert rule.reason.cite.clause.replace("|", "\\|").replace("\n", " ") in page
