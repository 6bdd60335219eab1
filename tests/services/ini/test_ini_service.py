"""Campaign INI import/export (SPEC §2.13): the service, the file format and the CLI."""
from __future__ import annotations


import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from ini_samples import BAD_FILE, EXAMPLE, HIJACK, POMS_FILE
from factories import make_campaign, make_experiment, make_stage, make_user
from poms_dd.errors import InvalidInput, NotFound, PermissionDenied
from poms_dd.models import (AuditEvent, Campaign, CampaignStage, LaunchTemplate, StageDependency, Submission)
from poms_dd.cli.context import CliContext
from poms_dd.cli.ini import command
from poms_dd.permissions import Actor
from poms_dd.services.ini.format import read, write
from poms_dd.services.ini.service import CampaignIniService



@pytest.fixture
def hypot(session):
    return make_experiment(session, "hypot")


@pytest.fixture
def prod(session, hypot):
    return make_user(session, "paula", roles={hypot: "production"})


class Ini:
    """The INI service of the test's session for whichever user a line acts as."""

    def __init__(self, session):
        self.session = session

    def as_(self, user) -> CampaignIniService:
        return CampaignIniService(self.session, Actor.person(user))


def counts(session) -> dict[str, int]:
    return {m.__name__: session.scalar(select(func.count()).select_from(m))
            for m in (Campaign, CampaignStage, StageDependency, LaunchTemplate, AuditEvent)}


def test_poms_style_file_imports(session, hypot, prod):
    result = CampaignIniService(session, Actor.person(prod)).import_text("hypot", POMS_FILE)
    camp = result.campaign
    assert result.created and camp.name == "reco2026" and camp.data_handling_service == "data_dispatcher"
    assert camp.keywords == {"release": "v1_2"} and camp.state == "active"
    reco, ana = sorted(camp.stages, key=lambda s: s.name != "reco")
    assert reco.role == "production" and ana.role == "analysis"          # vo_role, else poms_role
    assert reco.split_type == "drainingn(5)" and ana.split_type is None  # canonical; POMS "None"
    assert reco.software_version == ana.software_version == "v1_2"       # from [campaign_defaults]
    assert reco.completion_pct == 95 and reco.test_param_overrides == []
    assert reco.output_file_patterns == "%.root"                         # the job type's, %% unescaped
    assert ana.data_dispatcher_project_id == 4711 and ana.data_dispatcher_dataset_query is None
    tmpl = reco.launch_template
    assert tmpl is ana.launch_template and tmpl.name == "hypot_reco_jt@hypot_login"
    assert (tmpl.executor, tmpl.launch_host, tmpl.launch_account) == ("ssh", "hypotgpvm01.fnal.gov", "hypotpro")
    assert tmpl.setup == "setup fife_utils\nexport X509_USER_PROXY=/opt/hypotpro/proxy"
    assert tmpl.command_template == "fife_launch -c reco.cfg"
    [dep] = ana.dependencies
    assert dep.provider is reco and dep.file_pattern == "reco%.root"
    assert any("merge_overrides" in w for w in result.warnings) and any("stage_type" in w for w in result.warnings)
    event = session.scalars(select(AuditEvent).where(AuditEvent.object_type == "campaign", AuditEvent.object_id == camp.id)).one()
    assert event.action == "campaign.import" and event.actor == "paula" and event.before is None
    assert event.after["[campaign_stage reco] cs_split_type"] == "drainingn(5)"


def test_round_trip_is_byte_for_byte(session, hypot, prod):
    svc = Ini(session)
    first = svc.as_(prod).import_text("hypot", POMS_FILE).campaign
    _, text1 = svc.as_(prod).export_text("hypot", first.id)
    other = make_experiment(session, "hypot2")
    owner = make_user(session, "olga", roles={other: "production"})
    second = svc.as_(owner).import_text("hypot2", text1).campaign
    _, text2 = svc.as_(owner).export_text("hypot2", second.id)
    assert text1 == text2
    assert second.id != first.id and second.experiment_id == other.id
    assert "[campaign_stage reco]" in text1 and "file_pattern_1=reco%%.root" in text1


def test_round_trip_keeps_every_setting(session, hypot, prod):
    """A campaign built without INI (every exportable field set) survives export → import unchanged."""
    tmpl = LaunchTemplate(experiment_id=hypot.id, name="local run", executor="local",
                          setup="cd /tmp\n  export A='x y'", command_template="echo %(release)s 100%")
    session.add(tmpl)
    camp = make_campaign(session, hypot, "rich", keywords={"release": "v2"}, tags=["b", "a"],
                         dd_worker_timeout=60, dd_idle_timeout=0, dd_virtual=True, dd_load_limit=3,
                         state="inactive")
    a = make_stage(session, camp, "a", data_dispatcher_dataset_query="files from hypot:x where a = 'q u'",
                   split_type="byrun(low=1,high=9)", test_split_type="limitn(2)", dd_worker_timeout=5,
                   dd_virtual=False, dd_load_limit=7, completion_type="located", completion_pct=80,
                   output_file_patterns="%_a.root", output_ancestor_depth=2, software_version="v2",
                   job_config="a.cfg", param_overrides=[["-x", "1"]], test_param_overrides=[["-t", ""]],
                   auto_recovery="not_done", launch_template_id=tmpl.id, hold=True, cron_schedule="5 * * * *",
                   role="production")
    b = make_stage(session, camp, "b", data_dispatcher_dataset_query=None, data_dispatcher_project_id=99)
    session.add(StageDependency(consumer_stage_id=b.id, provider_stage_id=a.id, file_pattern="%.root"))
    session.flush()
    session.refresh(camp)
    svc = Ini(session)
    _, text = svc.as_(prod).export_text("hypot", camp.id)
    session.delete(camp)
    session.delete(tmpl)
    session.flush()
    again = svc.as_(prod).import_text("hypot", text).campaign
    assert svc.as_(prod).export_text("hypot", again.id)[1] == text
    fields = ("keywords", "tags", "dd_worker_timeout", "dd_idle_timeout", "dd_virtual", "dd_load_limit", "state")
    assert {f: getattr(again, f) for f in fields} == {
        "keywords": {"release": "v2"}, "tags": ["b", "a"], "dd_worker_timeout": 60, "dd_idle_timeout": 0,
        "dd_virtual": True, "dd_load_limit": 3, "state": "inactive"}
    a2 = next(s for s in again.stages if s.name == "a")
    assert (a2.split_type, a2.test_split_type, a2.hold, a2.cron_schedule, a2.auto_recovery) == (
        "byrun(low=1,high=9)", "limitn(2)", True, "5 * * * *", "not_done")
    assert (a2.dd_worker_timeout, a2.dd_virtual, a2.dd_load_limit, a2.output_ancestor_depth) == (5, False, 7, 2)
    assert a2.param_overrides == [["-x", "1"]] and a2.role == "production"
    t2 = a2.launch_template
    assert (t2.name, t2.executor, t2.setup, t2.command_template) == (
        "local run", "local", "cd /tmp\nexport A='x y'", "echo %(release)s 100%")


def test_example_campaign_file_imports_cleanly(session, hypot, prod):
    result = CampaignIniService(session, Actor.person(prod)).import_text("hypot", EXAMPLE.read_text())
    assert result.warnings == []
    camp = result.campaign
    assert [s.name for s in camp.stages] == ["reco", "ana"]
    ana = camp.stages[1]
    assert [d.provider.name for d in ana.dependencies] == ["reco"] and ana.cron_schedule == "0 */6 * * *"
    assert camp.stages[0].launch_template.name == "hypot_grid"


def test_bad_file_reports_every_problem_and_saves_nothing(session, hypot, prod):
    before = counts(session)
    with pytest.raises(InvalidInput) as exc:
        CampaignIniService(session, Actor.person(prod)).import_text("hypot", BAD_FILE)
    errors = exc.value.field_errors
    expected = {
        "[campaign] colour": "unknown key",
        "[campaign] campaign_stage_list": "'missing'",
        "[campaign_stage reco] cs_split_type": "five",
        "[campaign_stage reco] completion_pct": "between 0 and 100",
        "[campaign_stage reco] dd_idle_timeout": "whole number",
        "[campaign_stage reco] data_dispatcher_project_id": "not both",
        "[campaign_stage ana] param_overrides": "JSON",
        "[dependencies ana] campaign_stage_2": "nosuchstage",
        "[strange_section]": "unknown section",
    }
    for where, text in expected.items():
        assert where in errors, f"{where} not reported; got {sorted(errors)}"
        assert any(text in m for m in errors[where]), (where, errors[where])
    cycle = [m for k, v in errors.items() if k.startswith("[dependencies") for m in v if "cycle" in m]
    assert cycle and ("reco needs ana needs reco" in cycle[0] or "ana needs reco needs ana" in cycle[0])
    assert "nothing was imported" in exc.value.message
    assert counts(session) == before


def test_malformed_mql_is_reported_with_its_section_and_line(session, hypot, prod):
    text = POMS_FILE.replace("data_dispatcher_dataset_query=files from hypot:raw where core.runs[any] = 1000",
                             "data_dispatcher_dataset_query=files from hypot:raw where core.runs[any] =")
    before = counts(session)
    with pytest.raises(InvalidInput) as exc:
        CampaignIniService(session, Actor.person(prod)).import_text("hypot", text)
    errors = exc.value.field_errors
    assert list(errors) == ["[campaign_stage reco] data_dispatcher_dataset_query"]
    (message,) = errors["[campaign_stage reco] data_dispatcher_dataset_query"]
    assert message.startswith("line 16: MetaCat cannot parse this query: MQLSyntaxError: Unexpected end-of-input")
    assert counts(session) == before


def test_reader_reports_duplicates_and_keeps_percent_placeholders():
    sections, problems = read("[campaign]\nname=a\nname=b\n[campaign]\nx=1\nstray line\n"
                              "[campaign_stage s]\nq=files %%(x)s 50%% %(k)s\n  more\n")
    assert [p.where for p in problems] == ["[campaign] name", "[campaign]", "line 6"]
    assert sections[1].entries["q"].value == "files %(x)s 50% %(k)s\nmore"
    text = write([("[s]", [("q", "a %(k)s\n\n  b ")])])
    assert text == "[s]\nq=a %%(k)s\n    b\n"
    assert read(text)[0][0].entries["q"].value == "a %(k)s\nb"


def test_existing_campaign_needs_replace_and_replace_updates(session, hypot, prod):
    svc = Ini(session)
    camp = svc.as_(prod).import_text("hypot", POMS_FILE).campaign
    reco = next(s for s in camp.stages if s.name == "reco")
    reco.split_cursor = {"slice": 3}
    session.commit()
    with pytest.raises(InvalidInput) as exc:
        svc.as_(prod).import_text("hypot", POMS_FILE)
    assert "replace" in exc.value.field_errors["[campaign] name"][0]
    changed = POMS_FILE.replace("drainingn( 5 )", "nfiles(10)").replace(
        "[campaign_stage ana]", "[campaign_stage extra]\ndata_dispatcher_dataset_query=files from hypot:e\n\n"
        "[campaign_stage ana]").replace("campaign_stage_list=reco,ana", "campaign_stage_list=reco,extra,ana")
    result = svc.as_(prod).import_text("hypot", changed, replace=True)
    assert not result.created and result.campaign.id == camp.id
    session.refresh(reco)
    assert reco.split_type == "nfiles(10)" and reco.split_cursor == {}
    assert sorted(s.name for s in result.campaign.stages) == ["ana", "extra", "reco"]
    events = session.scalars(select(AuditEvent).where(AuditEvent.object_type == "campaign", AuditEvent.object_id == camp.id)
                             .order_by(AuditEvent.id)).all()
    assert len(events) == 2
    assert events[1].before["[campaign_stage reco] cs_split_type"] == "drainingn(5)"
    assert events[1].after["[campaign_stage reco] cs_split_type"] == "nfiles(10)"
    assert events[1].before["[campaign_stage extra] cs_split_type"] is None
    assert "[campaign_stage ana] cs_split_type" not in events[1].after      # unchanged: not in the diff


def test_replace_cannot_drop_a_stage_with_submissions(session, hypot, prod):
    svc = Ini(session)
    camp = svc.as_(prod).import_text("hypot", POMS_FILE).campaign
    ana = next(s for s in camp.stages if s.name == "ana")
    session.add(Submission(stage_id=ana.id))
    session.commit()
    only_reco = POMS_FILE.split("[campaign_stage ana]")[0].replace("campaign_stage_list=reco,ana",
                                                                    "campaign_stage_list=reco")
    only_reco += POMS_FILE[POMS_FILE.index("[job_type"):]
    with pytest.raises(InvalidInput) as exc:
        svc.as_(prod).import_text("hypot", only_reco, replace=True)
    assert "submission" in exc.value.field_errors["[campaign] campaign_stage_list"][0]


def test_permissions(session, hypot, prod):
    svc = Ini(session)
    analyst = make_user(session, "ann", roles={hypot: "analysis"})
    with pytest.raises(PermissionDenied, match="production"):
        svc.as_(analyst).import_text("hypot", POMS_FILE)            # reco is a production stage
    assert session.scalar(select(func.count()).select_from(Campaign)) == 0
    camp = svc.as_(prod).import_text("hypot", POMS_FILE).campaign
    outsider = make_user(session, "otto", roles={make_experiment(session, "other"): "superuser"})
    with pytest.raises(NotFound):
        svc.as_(outsider).export_text("hypot", camp.id)
    with pytest.raises(NotFound):
        svc.as_(outsider).import_text("hypot", POMS_FILE.replace("reco2026", "x"))
    assert svc.as_(analyst).export_text("hypot", camp.id)[1].startswith("#")


def test_cli_export_and_import(session, session_factory, hypot, prod, tmp_path):
    runner = CliRunner()
    obj = CliContext(session_factory)
    src = tmp_path / "c.ini"
    src.write_text(POMS_FILE)
    res = runner.invoke(command, ["import", "hypot", str(src), "--as", "paula"], obj=obj)
    assert res.exit_code == 0, res.output
    assert "created campaign reco2026" in res.output
    out = tmp_path / "out.ini"
    res = runner.invoke(command, ["export", "hypot", "reco2026", "-o", str(out), "--as", "paula"], obj=obj)
    assert res.exit_code == 0, res.output
    res = runner.invoke(command, ["export", "hypot", "reco2026", "--as", "paula"], obj=obj)
    assert res.output == out.read_text() and "[dependencies ana]" in res.output
    res = runner.invoke(command, ["import", "hypot", str(out), "--replace", "--as", "paula"], obj=obj)
    assert res.exit_code == 0 and "updated campaign reco2026" in res.output


def test_cli_import_of_bad_file_lists_problems(session, session_factory, hypot, prod, tmp_path):
    src = tmp_path / "bad.ini"
    src.write_text(BAD_FILE)
    before = counts(session)
    res = CliRunner().invoke(command, ["import", "hypot", str(src), "--as", "paula"],
                             obj=CliContext(session_factory))
    assert res.exit_code == 1
    assert "[campaign_stage reco] completion_pct:" in res.output
    assert "[dependencies ana] campaign_stage_2:" in res.output and "[campaign] colour:" in res.output
    assert counts(session) == before
    res = CliRunner().invoke(command, ["import", "hypot", str(src), "--as", "nobody"],
                             obj=CliContext(session_factory))
    assert res.exit_code == 1 and "no active user named 'nobody'" in res.output


def test_dependency_on_another_campaigns_stage_round_trips(session, hypot, prod):
    svc = Ini(session)
    upstream = svc.as_(prod).import_text("hypot", POMS_FILE).campaign
    reco = next(s for s in upstream.stages if s.name == "reco")
    text = ("[campaign]\nname=downstream\ndata_handling_service=data_dispatcher\n\n"
            "[campaign_stage merge]\ndata_dispatcher_dataset_query=files from hypot:reco\n\n"
            "[dependencies merge]\ncampaign_stage_1=reco2026/reco\nfile_pattern_1=%%.root\n")
    down = svc.as_(prod).import_text("hypot", text).campaign
    [dep] = down.stages[0].dependencies
    assert dep.provider.id == reco.id and dep.file_pattern == "%.root"
    _, exported = svc.as_(prod).export_text("hypot", down.id)
    assert "campaign_stage_1=reco2026/reco" in exported
    again = svc.as_(prod).import_text("hypot", exported, replace=True).campaign
    assert svc.as_(prod).export_text("hypot", again.id)[1] == exported
    with pytest.raises(InvalidInput) as exc:
        svc.as_(prod).import_text("hypot", text.replace("downstream", "d2").replace("reco2026/reco", "nope/reco"))
    assert "no other campaign 'nope'" in exc.value.field_errors["[dependencies merge] campaign_stage_1"][0]




def test_cli_import_cannot_rewrite_a_production_template_as_an_analysis_member(session, session_factory, hypot,
                                                                               prod, tmp_path):
    make_user(session, "ann", roles={hypot: "analysis"})
    session.commit()
    obj = CliContext(session_factory)
    src = tmp_path / "c.ini"
    src.write_text(POMS_FILE)
    assert CliRunner().invoke(command, ["import", "hypot", str(src), "--as", "paula"], obj=obj).exit_code == 0
    hijack = tmp_path / "hijack.ini"
    hijack.write_text(HIJACK)
    res = CliRunner().invoke(command, ["import", "hypot", str(hijack), "--replace", "--as", "ann"], obj=obj)
    assert res.exit_code == 1
    assert "only production members may change it" in res.output and "reco2026/reco" in res.output
    session.expire_all()
    tmpl = session.scalars(select(LaunchTemplate)).one()
    assert tmpl.command_template == "fife_launch -c reco.cfg"
    src.write_text(POMS_FILE.replace("fife_launch -c reco.cfg", "fife_launch -c v2.cfg"))
    res = CliRunner().invoke(command, ["import", "hypot", str(src), "--replace", "--as", "paula"], obj=obj)
    assert res.exit_code == 0, res.output
    session.expire_all()
    assert session.scalars(select(LaunchTemplate)).one().command_template == "fife_launch -c v2.cfg"
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "launch_template.update")).one()
    assert event.actor == "paula (cli)" and event.before == {"command_template": "fife_launch -c reco.cfg"}
    assert event.after == {"command_template": "fife_launch -c v2.cfg"}


def test_import_reports_a_bad_split_type_and_a_bad_query_of_one_stage_together(session, hypot, prod):
    text = POMS_FILE.replace("cs_split_type=drainingn( 5 )", "cs_split_type=nosuchsplit(3)").replace(
        "files from hypot:raw where core.runs[any] = 1000", "files from hypot:raw where")
    with pytest.raises(InvalidInput) as exc:
        Ini(session).as_(prod).import_text("hypot", text)
    errors = exc.value.field_errors
    assert "nosuchsplit" in errors["[campaign_stage reco] cs_split_type"][0]
    assert "MetaCat cannot parse" in errors["[campaign_stage reco] data_dispatcher_dataset_query"][0]
