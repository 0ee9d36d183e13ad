"""Recommendation rules from a YAML file, beside the built-in ones.

A rule compares one per-service figure of the week (core.reporting.evidence.SERVICE_FIGURES)
with a limit (``above`` or ``below``) and, where it is past it, recommends the change it
describes. Every error names the file, the rule and the field.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from analytics_pipeline.core.reporting.evidence import SERVICE_FIGURES, WeekEvidence, service_figures
from analytics_pipeline.core.reporting.recommendations import (
    CATEGORIES, EFFORTS, RISKS, OptimizationEngineConfig, OptimizationRecommendation, make,
)

DEFAULT_RULES = Path(__file__).with_name("rules.yaml")
_REQUIRED = ("name", "category", "figure", "title", "description", "recommended_value")
_KNOWN = (*_REQUIRED, "above", "below", "min_logs", "current_value", "implementation_steps", "estimated_effort",
          "risk_level", "confidence")


class RulesFileError(ValueError):
    """The rules file cannot be used; the message names what is wrong and where."""


@dataclass(frozen=True)
class FigureRule:
    name: str
    category: str
    figure: str
    limit: float
    above: bool
    title: str
    description: str
    recommended_value: str
    current_value: str = "{figure} {value:.4g}"
    implementation_steps: tuple[str, ...] = ()
    estimated_effort: str = "medium"
    risk_level: str = "low"
    confidence: float = 0.8
    min_logs: int = 0


def _rule(raw: Any, where: str) -> FigureRule:
    if not isinstance(raw, dict):
        raise RulesFileError(f"{where}: a rule is a mapping, got {type(raw).__name__}")
    missing = [k for k in _REQUIRED if k not in raw]
    unknown = [k for k in raw if k not in _KNOWN]
    if missing or unknown:
        raise RulesFileError(f"{where}: " + "; ".join(
            ([f"missing {', '.join(missing)}"] if missing else []) + ([f"unknown field(s) {', '.join(unknown)}"]
                                                                      if unknown else [])))
    if ("above" in raw) == ("below" in raw):
        raise RulesFileError(f"{where}: give exactly one of 'above' or 'below'")
    checks = {"category": (raw["category"], CATEGORIES), "figure": (raw["figure"], SERVICE_FIGURES),
              "estimated_effort": (raw.get("estimated_effort", "medium"), EFFORTS),
              "risk_level": (raw.get("risk_level", "low"), RISKS)}
    for field, (value, allowed) in checks.items():
        if value not in allowed:
            raise RulesFileError(f"{where}: {field} {value!r} is not one of {', '.join(allowed)}")
    try:
        limit = float(raw["above"] if "above" in raw else raw["below"])
        confidence = float(raw.get("confidence", 0.8))
        min_logs = int(raw.get("min_logs", 0))
    except (TypeError, ValueError) as exc:
        raise RulesFileError(f"{where}: above/below, confidence and min_logs are numbers ({exc})") from None
    if not 0 <= confidence <= 1:
        raise RulesFileError(f"{where}: confidence must be in [0, 1], got {confidence}")
    steps = raw.get("implementation_steps", [])
    if not isinstance(steps, list) or not all(isinstance(s, str) for s in steps):
        raise RulesFileError(f"{where}: implementation_steps is a list of strings")
    return FigureRule(str(raw["name"]), raw["category"], raw["figure"], limit, "above" in raw, str(raw["title"]),
                      str(raw["description"]), str(raw["recommended_value"]),
                      str(raw.get("current_value", FigureRule.current_value)), tuple(steps),
                      checks["estimated_effort"][0], checks["risk_level"][0], confidence, min_logs)


def load_rules(path: Path = DEFAULT_RULES) -> tuple[FigureRule, ...]:
    """The rules of a YAML file (``rules:`` a list); RulesFileError naming what is wrong."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise RulesFileError(f"cannot read rules file {path}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise RulesFileError(f"rules file {path} is not valid YAML: {exc}") from None
    if data is None:
        return ()
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
        raise RulesFileError(f"rules file {path}: expected a mapping with a 'rules' list")
    rules = tuple(_rule(raw, f"{path}: rule {i + 1}" + (f" ({raw.get('name')})" if isinstance(raw, dict) else ""))
                  for i, raw in enumerate(data["rules"]))
    for rule in rules:  # a bad placeholder fails now, not in the middle of a weekly run
        try:
            _text(rule, "x", 1.0)
        except (KeyError, ValueError, IndexError) as exc:
            raise RulesFileError(f"{path}: rule {rule.name}: bad placeholder {exc} (use {{service}}, {{value}}, "
                                 "{limit}, {figure})") from None
    return rules


def _text(rule: FigureRule, service: str, value: float) -> dict[str, str]:
    values = {"service": service, "value": value, "limit": rule.limit, "figure": rule.figure}
    return {k: getattr(rule, k).format(**values) for k in ("title", "description", "recommended_value",
                                                           "current_value")}


def apply_rules(rules: tuple[FigureRule, ...], week: WeekEvidence, config: OptimizationEngineConfig,
                created: datetime, source: str) -> list[OptimizationRecommendation]:
    """The rules' recommendations for the week's services."""
    if not rules:
        return []
    figures = service_figures(week)
    out = []
    for rule in rules:
        for row in figures.to_dict(orient="records"):
            value = float(row[rule.figure])
            if row["logs"] < rule.min_logs or value != value:  # NaN: the figure does not apply
                continue
            past = value > rule.limit if rule.above else value < rule.limit
            if not past:
                continue
            text = _text(rule, str(row["service"]), value)
            improvement = 100.0 * abs(value - rule.limit) / abs(value) if value else 0.0
            out.append(make(
                week.partition, created, config, category=rule.category, component=str(row["service"]),
                title=text["title"], description=text["description"], current_value=text["current_value"],
                recommended_value=text["recommended_value"], expected_improvement=improvement,
                confidence=rule.confidence, steps=rule.implementation_steps, effort=rule.estimated_effort,
                risk=rule.risk_level, evidence=(f"{rule.figure} = {value:.4g} "
                                                f"({'above' if rule.above else 'below'} {rule.limit:g}), "
                                                f"{row['logs']:,} logs",),
                metrics={rule.figure: value, "limit": rule.limit}, key=rule.name, source=source))
    return out
