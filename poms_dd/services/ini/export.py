"""Campaign INI export (SPEC §2.13): deterministic text — stages in dependency order (ties by name), every key
written in a fixed order — so export → import → export gives the same bytes."""
from __future__ import annotations

import heapq

from ...models import Campaign, CampaignStage, LaunchTemplate
from . import schema as S
from .format import section_header, write

PREAMBLE = ["poms_dd campaign file (POMS campaign INI format with poms_dd's Data Dispatcher settings).",
            "Import: poms-dd ini import EXPERIMENT FILE  or the campaign import page."]


def stage_order(stages: list[CampaignStage]) -> list[CampaignStage]:
    """Providers before consumers; among stages that are ready, alphabetical (a cycle is broken at its
    alphabetically first stage).  Linear in the stages and dependencies, up to the heaps' log factor."""
    by_name = {s.name: s for s in stages}
    waiting = {name: 0 for name in by_name}
    consumers: dict[str, list[str]] = {name: [] for name in by_name}
    for s in stages:
        for provider in {d.provider.name for d in s.dependencies if d.provider.campaign_id == s.campaign_id}:
            waiting[s.name] += 1
            consumers[provider].append(s.name)
    ready = [name for name, n in waiting.items() if n == 0]
    every = list(by_name)
    heapq.heapify(ready)
    heapq.heapify(every)
    done: list[str] = []
    placed: set[str] = set()
    while len(done) < len(by_name):
        heap = ready if _drop_placed(ready, placed) else every          # no stage ready: a cycle
        name = heapq.heappop(heap)
        if name in placed:
            continue
        placed.add(name)
        done.append(name)
        for consumer in consumers[name]:
            waiting[consumer] -= 1
            if waiting[consumer] == 0 and consumer not in placed:
                heapq.heappush(ready, consumer)
    return [by_name[n] for n in done]


def _drop_placed(heap: list[str], placed: set[str]) -> bool:
    """Pop stages already placed off the top of ``heap``; whether a ready one remains."""
    while heap and heap[0] in placed:
        heapq.heappop(heap)
    return bool(heap)


def _provider_name(campaign: Campaign, provider: CampaignStage) -> str:
    """A stage of this campaign by name; of another campaign as ``CAMPAIGN/STAGE``."""
    return provider.name if provider.campaign_id == campaign.id else f"{provider.campaign.name}/{provider.name}"


def campaign_sections(campaign: Campaign) -> list[tuple[str, list[tuple[str, str]]]]:
    """The campaign as ``[(header, [(key, text), ...]), ...]`` in export order."""
    stages = stage_order(list(campaign.stages))
    items = [(k.ini, k.write(getattr(campaign, k.field))) for k in S.CAMPAIGN_KEYS]
    items.insert(3, ("campaign_stage_list", ",".join(s.name for s in stages)))
    out = [(section_header("campaign"), items)]
    templates: dict[str, LaunchTemplate] = {}
    position = {s.name: i for i, s in enumerate(stages)}
    for st in stages:
        tname = st.launch_template.name if st.launch_template else ""
        if st.launch_template:
            templates[tname] = st.launch_template
        values = {"job_type": tname, "login_setup": tname}
        out.append((section_header("campaign_stage", st.name),
                    [(k.ini, values[k.field] if k.field in values else k.write(getattr(st, k.field)))
                     for k in S.STAGE_KEYS]))
    for st in stages:
        names = [_provider_name(campaign, d.provider) for d in st.dependencies]
        deps = sorted(zip(names, st.dependencies), key=lambda nd: (position.get(nd[0], len(stages)), nd[0]))
        if deps:
            items = []
            for n, (name, dep) in enumerate(deps, start=1):
                items += [(f"campaign_stage_{n}", name), (f"file_pattern_{n}", dep.file_pattern)]
            out.append((section_header("dependencies", st.name), items))
    for name in sorted(templates):
        t = templates[name]
        out.append((section_header("login_setup", name), [(k.ini, S.fmt(getattr(t, k.field)))
                                                          for k in S.LOGIN_SETUP_KEYS]))
        out.append((section_header("job_type", name), [("launch_script", t.command_template or "")]))
    return out


def render(campaign: Campaign) -> str:
    return write(campaign_sections(campaign), PREAMBLE)


def snapshot(campaign: Campaign) -> dict[str, str]:
    """``{"[section] key": text}``: the audit trail then shows exactly which settings an import changed."""
    return {f"{header} {key}": value for header, items in campaign_sections(campaign) for key, value in items}
