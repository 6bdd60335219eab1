"""The SPEC §2.5 environment and the command template's placeholders, as the launched shell receives them."""
from __future__ import annotations

import pytest

from poms_dd.errors import InvalidInput
from poms_dd.services.launch.environment import (CONTEXT_VARIABLES, PLACEHOLDERS, SPEC_VARIABLES, check_template,
                                                 context_variables, launch_environment, render_command)
from poms_dd.services.launch.executors import LocalExecutor

NASTY_MQL = ("files from hypot:raw where name = 'a \"b\"' and (run > 3 or run < 1) "
             "$(touch {dir}/pwned1) `touch {dir}/pwned2`; touch {dir}/pwned3\n touch {dir}/pwned4 & \\ ${{HOME}} | ")


def _env(**over):
    args = dict(task_id=12, project_id=34, query="files from hypot:raw", parameter=None, virtual=False,
                load_limit=None, dd_url="http://dd/dd", dd_auth_url="http://dd/auth", metacat_url="http://mc/mc",
                metacat_auth_url="http://mc/auth")
    args.update(over)
    return launch_environment(**args)


def _values(**over):
    values = {name: "" for name in PLACEHOLDERS}
    values.update(over)
    return values


def test_the_environment_has_exactly_the_spec_variables_as_strings():
    env = _env(load_limit=5, virtual=True)
    assert tuple(env) == SPEC_VARIABLES
    assert env["POMS_DATA_DISPATCHER_TASK_ID"] == "12" and env["POMS_DATA_DISPATCHER_PROJECT_ID"] == "34"
    assert env["POMS_DATA_DISPATCHER_PROJECT_VIRTUAL"] == "true" and env["POMS_DATA_DISPATCHER_LOAD_LIMIT"] == "5"
    assert env["POMS_DATA_DISPATCHER_PARAMETER"] == ""
    assert env["METACAT_AUTH_SERVER_URL"] == "http://mc/auth" and env["DATA_DISPATCHER_AUTH_URL"] == "http://dd/auth"


def test_a_parameter_launch_has_an_empty_project_id_and_the_parameter():
    env = _env(project_id=None, parameter="01-20030-es")
    assert env["POMS_DATA_DISPATCHER_PROJECT_ID"] == "" and env["POMS_DATA_DISPATCHER_PARAMETER"] == "01-20030-es"
    assert env["POMS_DATA_DISPATCHER_PROJECT_VIRTUAL"] == "false" and env["POMS_DATA_DISPATCHER_LOAD_LIMIT"] == ""


def test_context_variables_go_in_through_extra_and_reserved_names_are_refused():
    ctx = context_variables(experiment="hypot", campaign_name="c", campaign_id=1, stage_name="s", stage_id=2,
                            submission_id=3, launcher="alice", role="analysis", launch_kind="test")
    env = _env(extra=ctx)
    assert tuple(env) == SPEC_VARIABLES + CONTEXT_VARIABLES and env["POMS_SUBMISSION_ID"] == "3"
    for bad in ({"POMS_DD_ENCRYPTION_KEY": "x"}, {"DATA_DISPATCHER_URL": "x"}, {"A-B": "x"}, {"X=Y": "x"}):
        with pytest.raises(ValueError):
            _env(extra=bad)


def test_a_value_with_nul_is_refused():
    with pytest.raises(ValueError, match="NUL"):
        _env(query="files from a:b\x00")
    with pytest.raises(ValueError, match="NUL"):
        _env(extra={"POMS_ROLE": "a\x00"})
    with pytest.raises(ValueError, match="NUL"):
        render_command("x {query}", _values(query="a\x00"))


def test_the_launched_command_receives_the_environment_and_placeholders_intact_and_inert(tmp_path):
    query = NASTY_MQL.format(dir=tmp_path)
    env = _env(query=query, parameter="p'q\"r", extra={"POMS_STAGE_NAME": "stage (1) $(touch x)"})
    template = ("env -0 > {job_config}\nprintf '%s' {query} > {software_version}; "
                "printf '%s' {stage} >> {software_version}")
    command = render_command(template, _values(job_config=str(tmp_path / "env"), query=query,
                                               software_version=str(tmp_path / "args"), stage="a;b"))
    result = LocalExecutor().run(command, env, timeout=30, cwd=str(tmp_path))
    assert result.ok, result.output
    received = dict(item.split("=", 1) for item in (tmp_path / "env").read_text().split("\0") if item)
    for name, value in env.items():
        assert received[name] == value
    assert (tmp_path / "args").read_text() == query + "a;b"
    assert not list(tmp_path.glob("pwned*")) and not (tmp_path / "x").exists()


def test_placeholders_are_quoted_and_double_braces_are_literal():
    command = render_command("run --q={query} ${{HOME}} awk '{{print $1}}' {stage_id}",
                             _values(query="a b'c", stage_id="7"))
    assert command == "run --q='a b'\"'\"'c' ${HOME} awk '{print $1}' 7"
    assert render_command("x {parameter}", _values()) == "x ''"


def test_an_unknown_placeholder_is_named_with_the_known_ones():
    with pytest.raises(InvalidInput) as err:
        check_template("jobsub --x {sofware_version}")
    message = err.value.message
    assert "unknown placeholder {sofware_version}" in message and "Command template" in message
    assert all("{" + name + "}" in message for name in PLACEHOLDERS)
    assert err.value.field_errors == {"command_template": [message]}
    with pytest.raises(InvalidInput, match=r"unknown placeholder \{HOME\}.*\$\{\{HOME\}\}"):
        check_template("echo ${HOME}")


@pytest.mark.parametrize("template", ["run {query", "run query}", "{query!r}", "{query:>20}", "{0}", "{}",
                                      "{a.b}", "{query[0]}"])
def test_a_malformed_template_is_refused(template):
    with pytest.raises(InvalidInput, match="Command template"):
        check_template(template)


@pytest.mark.parametrize("template,why", [("echo '{query}'", "inside quotes"), ('echo "{query}"', "inside quotes"),
                                          ("echo \\{query}", "backslash"), ("ls # {query}", "comment"),
                                          ("cat <<EOF\n{query}\nEOF", "here-document"),
                                          ("cat <<{query}", "here-document")])
def test_a_placeholder_where_quoting_would_not_protect_it_is_refused(template, why):
    with pytest.raises(InvalidInput, match=why):
        check_template(template)


def test_placeholders_in_ordinary_shell_positions_are_accepted():
    for template in ("a#{query}", "cat <<< {query}", "x=$(echo {query})", "'{{x}}' {query} # '{{y}}'",
                     "echo \"$HOME\" {query} 'it''s' {stage}"):
        check_template(template)


@pytest.mark.parametrize("template", ["echo \"{query}\"", "# {query}", "cat <<EOF\n{query}\nEOF"])
def test_the_refused_positions_would_really_run_the_value(tmp_path, template):
    """Why the refusals above exist: rendered naively, a value there escapes its quotes."""
    value = f"x\n$(touch {tmp_path}/pwned)\n"
    naive = template.replace("{query}", __import__("shlex").quote(value))
    LocalExecutor().run(naive, {}, timeout=10, cwd=str(tmp_path))
    assert (tmp_path / "pwned").exists()
