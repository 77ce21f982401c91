"""What a running AWS lab has cost so far (issue 6, item 5). Pure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from stacklab.catalog import load_catalog
from stacklab.providers.cost import RunningInstance, hourly_prices, running_cost

START = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
PRICES = {"m8i.xlarge": 0.2117, "m8i.2xlarge": 0.4234}


def test_each_instance_costs_its_price_times_its_hours() -> None:
    instances = [
        RunningInstance("controller", "m8i.xlarge", START),
        RunningInstance("compute1", "m8i.2xlarge", START + timedelta(hours=1)),
    ]
    cost = running_cost(instances, PRICES, START + timedelta(hours=3))
    assert cost.usd_so_far == pytest.approx(0.2117 * 3 + 0.4234 * 2)
    assert cost.usd_per_hour == pytest.approx(0.2117 + 0.4234)
    assert cost.since == START
    assert cost.unpriced_types == ()


def test_types_missing_from_the_catalog_are_named_not_guessed() -> None:
    cost = running_cost([RunningInstance("x", "z9.huge", START)], PRICES, START + timedelta(1))
    assert (cost.usd_so_far, cost.unpriced_types) == (0.0, ("z9.huge",))


def test_no_instances_cost_nothing_and_a_clock_behind_the_launch_costs_nothing() -> None:
    assert running_cost([], PRICES, START).usd_so_far == 0.0
    early = running_cost([RunningInstance("c", "m8i.xlarge", START)], PRICES, START - timedelta(1))
    assert early.usd_so_far == 0.0


def test_prices_come_from_the_catalog() -> None:
    prices = hourly_prices(load_catalog(with_host=False).of("aws"))
    assert prices["m8i.2xlarge"] == pytest.approx(0.4234)
    assert all(price > 0 for price in prices.values())
