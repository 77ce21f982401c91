"""What a running lab has cost so far: each running instance's hourly price from the catalog,
times the hours since it was launched (EC2 resets the launch time when an instance starts)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from stacklab.catalog.models import ProviderCatalog
from stacklab.providers.base import RunningCost

COST_NOTE = (
    "instance hours at the catalog's on-demand prices; disks, traffic and the public address "
    "are not included"
)


@dataclass(frozen=True)
class RunningInstance:
    node: str
    instance_type: str
    launched_at: datetime


def hourly_prices(catalog: ProviderCatalog) -> dict[str, float]:
    return {
        name: machine.price.usd_per_hour
        for name, machine in catalog.machine_types.items()
        if machine.price is not None
    }


def hours_between(start: datetime, end: datetime) -> float:
    return max((end - start).total_seconds(), 0.0) / 3600


def running_cost(
    instances: Iterable[RunningInstance], prices: Mapping[str, float], now: datetime
) -> RunningCost:
    usd, per_hour = 0.0, 0.0
    since: datetime | None = None
    unpriced: set[str] = set()
    for instance in instances:
        since = instance.launched_at if since is None else min(since, instance.launched_at)
        price = prices.get(instance.instance_type)
        if price is None:
            unpriced.add(instance.instance_type)
            continue
        per_hour += price
        usd += price * hours_between(instance.launched_at, now)
    return RunningCost(round(usd, 4), round(per_hour, 4), since, tuple(sorted(unpriced)), COST_NOTE)
