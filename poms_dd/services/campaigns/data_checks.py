"""Save-time checks of a stage's data against the experiment's MetaCat and Data Dispatcher.

They never refuse a save: a query that selects no files or a project id DD does not know is a *warning*
(the person may be preparing data that will exist later), a service that is down or not configured is a
"could not check" note.  ``stage_data_notes(adapters, exp, stage)`` returns them as :class:`DataNote`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from ...errors import PomsDDError
from ...models import CampaignStage, DataHandlingService, Experiment
from .keywords import substitute
from .names import STAGE_LABELS

UNITS = ("bytes", "kB", "MB", "GB", "TB", "PB", "EB")


def human_size(n: int | None) -> str:
    """Bytes in decimal units a person reads at a glance: ``5053517862818`` → ``5.05 TB``."""
    if n is None:
        return "—"
    value, unit = float(n), 0
    while value >= 1000 and unit < len(UNITS) - 1:
        value, unit = value / 1000, unit + 1
    if unit == 0:
        return f"{int(value)} byte{'s' if n != 1 else ''}"
    return f"{value:.3g} {UNITS[unit]}" if value < 100 else f"{value:.0f} {UNITS[unit]}"


@dataclass(frozen=True)
class DataNote:
    level: str        # "warning" (the data looks wrong) or "info" (what was found, or could not be checked)
    field: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"level": self.level, "field": self.field, "message": self.message}


def stage_data_notes(adapters: Callable[[Experiment], Any] | None, exp: Experiment,
                     stage: CampaignStage) -> list[DataNote]:
    """What MetaCat says of the stage's query (summary count) or DD of its project id (get_project)."""
    if stage.campaign.data_handling_service != DataHandlingService.DATA_DISPATCHER:
        return []
    if stage.data_dispatcher_project_id:
        return _project_notes(adapters, exp, stage.data_dispatcher_project_id)
    query = stage.data_dispatcher_dataset_query
    if not query or query.strip().isdigit():      # stagedfiles(n): a project id in the query field
        return _project_notes(adapters, exp, int(query)) if query else []
    try:
        query = substitute(query, stage.campaign.keywords or {})
    except PomsDDError:
        return []                                  # reported as a field error already
    return _query_notes(adapters, exp, query)


def _unreachable(field: str, service: str, err: Exception | None) -> DataNote:
    why = f": {err}" if err is not None else f": {service} is not configured for this experiment"
    return DataNote("info", field, f"Saved, but {service} could not check the {STAGE_LABELS[field]}{why}.")


def _query_notes(adapters, exp: Experiment, query: str) -> list[DataNote]:
    field = "data_dispatcher_dataset_query"
    if adapters is None or not exp.metacat_url:
        return [_unreachable(field, "MetaCat", None)]
    try:
        counted = adapters(exp).metacat.count(query)
    except PomsDDError as err:
        return [_unreachable(field, "MetaCat", err)]
    if counted.count == 0:
        return [DataNote("warning", field, f"The {STAGE_LABELS[field]} selects no files in MetaCat now "
                                           f"({query}); launches will find nothing until such files exist.")]
    return [DataNote("info", field, f"The {STAGE_LABELS[field]} selects {counted.count:,} file"
                                    f"{'s' if counted.count != 1 else ''} ({human_size(counted.total_size)}).")]


def _project_notes(adapters, exp: Experiment, project_id: int) -> list[DataNote]:
    field = "data_dispatcher_project_id"
    if adapters is None or not exp.dd_url:
        return [_unreachable(field, "Data Dispatcher", None)]
    try:
        project = adapters(exp).data_dispatcher.get_project(project_id)
    except PomsDDError as err:
        return [_unreachable(field, "Data Dispatcher", err)]
    if project is None:
        return [DataNote("warning", field, f"Data Dispatcher has no project {project_id}; launches of this stage "
                                           "will fail until it exists.")]
    return [DataNote("info", field, f"Data Dispatcher project {project_id} is {project.state}.")]
