"""Abuse trends: the volume of review cases opened in the last window against a baseline (the
same hours of the previous weeks), by policy, category, queue, shop and seller cluster
(sellers joined by what the marketplace says they share: payout account, contact, photos,
found as connected components with networkx). A volume is a spike when the exact test of two
Poisson rates (the window's count given its sum with the baseline's is binomial with share
1 / (1 + weeks) when the rate has not changed; one-sided) survives the Benjamini-Hochberg
correction across everything tested in the scan (scipy, statsmodels) and it reaches the
pack's minimum count. Spikes about
the same cases are one finding: the most specific (a cluster, then a shop, a category, a
policy, a queue) leads, the others are its evidence."""

from __future__ import annotations

from datetime import datetime, timedelta

import networkx as nx
from scipy.stats import binomtest
from statsmodels.stats.multitest import multipletests

from domain.trend_models import Dimension, Finding, Spike, TrendsConfig, Volume

OVERLAP = 0.5  # a spike whose cases the leader's hold this share of is the leader's evidence


def windows(now: datetime, window: timedelta, weeks: int) -> list[tuple[datetime, datetime]]:
    """The window ending now, then the same hours of each week before."""
    return [(now - window - timedelta(weeks=w), now - timedelta(weeks=w))
            for w in range(weeks + 1)]


def clusters(links: list[tuple[str, str]]) -> dict[str, list[str]]:
    """Sellers joined by a shared attribute, as connected components of two or more: the
    cluster's name (its first seller) -> its sellers."""
    g = nx.Graph()
    g.add_edges_from((f"s:{seller}", f"l:{link}") for seller, link in links)
    found = {}
    for component in nx.connected_components(g):
        sellers = sorted(n[2:] for n in component if n.startswith("s:"))
        if len(sellers) > 1:
            found[sellers[0]] = sellers
    return found


def spikes(volumes: list[Volume], cfg: TrendsConfig) -> list[Spike]:
    """The volumes that are spikes: a test of rates each, corrected together (BH)."""
    tested = [v for v in volumes if v.count > 0]
    if not tested:
        return []
    means = [sum(v.baseline) / len(v.baseline) for v in tested]
    # the window's share of window and baseline together, against an equal rate's 1 / (1 + k)
    p = [float(binomtest(v.count, v.count + sum(v.baseline), 1 / (1 + len(v.baseline)),
                         alternative="greater").pvalue) for v in tested]
    reject, q, _, _ = multipletests(p, alpha=cfg.fdr, method="fdr_bh")
    return sorted((Spike(**v.model_dump(), expected=mean, p_value=pv, q_value=float(qv))
                   for v, mean, pv, qv, r in zip(tested, means, p, q, reject, strict=True)
                   if r and v.count >= cfg.min_count and v.count > mean),
                  key=lambda s: (list(Dimension).index(s.dimension), -s.count, s.value))


def findings(found: list[Spike]) -> list[Finding]:
    """Spikes about the same cases as one finding, the most specific leading."""
    out: list[Finding] = []
    for s in found:  # most specific first
        mine = set(s.cases)
        home = next((f for f in out if len(mine & set(f.lead.cases)) >= OVERLAP * len(mine)),
                    None)
        if home is None:
            out.append(Finding(lead=s))
        else:
            home.evidence.append(s)
    return out
