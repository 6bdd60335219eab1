"""flask-wtf forms: field validation only (business rules live in the services).

One section per area; add new forms under a section header of their own.  Every form carries a CSRF token
(``{{ form.csrf_token }}`` or the ``csrf_field()`` macro in ``templates/poms_dd/_macros.html``).
"""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (BooleanField, Form, FormField, HiddenField, IntegerField, PasswordField, SelectChoice,
                     SelectField, StringField, TextAreaField)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from ..models import AuthMethod, AutoRecovery, CampaignState, CompletionType, DataHandlingService, Role, StageRole, values

# --- Sign-in and account (poms_dd/views/auth.py) ----------------------------------------------------------


class LoginForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired(), Length(max=100)],
                           render_kw={"autocomplete": "username", "autofocus": True})
    password = PasswordField("Password", validators=[DataRequired(), Length(max=500)],
                             render_kw={"autocomplete": "current-password"})
    next = HiddenField()


class ApiTokenForm(FlaskForm):
    name = StringField("Token name", validators=[DataRequired(), Length(max=100)],
                       description="What the token is for, e.g. 'nightly launch script'.")
    expires_days = IntegerField("Expires after (days)", validators=[Optional(), NumberRange(min=1, max=3650)],
                                description="Leave empty for a token that never expires.")


# --- Onboarding an experiment (poms_dd/web/views/admin/pages.py) ------------------------------------------------------


_URL = [Optional(), Length(max=500)]
_METHODS = list(values(AuthMethod))


class ServiceCredentialForm(Form):
    """How poms_dd signs in to one service (a sub-form: the outer form carries the CSRF token)."""

    method = SelectField("Authentication method", choices=_METHODS, default="password",
                         description="password; token_file: a bearer token (file path or pasted below); "
                                     "x509: certificate and key files.")
    username = StringField("Service account", validators=[Optional(), Length(max=200)],
                           description="The account poms_dd signs in as.")
    secret = PasswordField("Password or pasted token", validators=[Optional(), Length(max=20000)],
                           render_kw={"autocomplete": "new-password"},
                           description="Write-only: never shown again. Leave empty to keep the stored one.")
    clear_secret = BooleanField("Remove the stored password/token")
    token_file = StringField("Token file path", validators=[Optional(), Length(max=500)],
                             description="Absolute path of a bearer-token file on the poms_dd server "
                                         "(re-read at every login).")
    cert_path = StringField("x509 certificate path", validators=[Optional(), Length(max=500)])
    key_path = StringField("x509 key path", validators=[Optional(), Length(max=500)])


class ExperimentForm(FlaskForm):
    """The onboarding form (SPEC §7).  URLs and rules are checked by OnboardingService."""

    name = StringField("Experiment name", validators=[Optional(), Length(max=64)],
                       description="Lower-case letters, digits, '-' or '_'; cannot be changed later.")
    description = TextAreaField("Description", validators=[Optional(), Length(max=5000)])
    metacat_url = StringField("MetaCat server URL", validators=_URL)
    metacat_auth_url = StringField("MetaCat auth URL", validators=_URL,
                                   description="Empty: the server URL + /auth.")
    metacat_gui_url = StringField("MetaCat GUI URL", validators=_URL)
    dd_url = StringField("Data Dispatcher server URL", validators=_URL)
    dd_auth_url = StringField("Data Dispatcher auth URL", validators=_URL, description="Empty: the server URL + /auth.")
    dd_gui_url = StringField("Data Dispatcher GUI URL", validators=_URL)
    rucio_host = StringField("Rucio host", validators=_URL)
    rucio_auth_host = StringField("Rucio auth host", validators=_URL, description="Empty: the Rucio host.")
    rucio_account = StringField("Rucio account", validators=[Optional(), Length(max=100)])
    service_role = StringField("Shared MetaCat/DD role (group)", validators=[Optional(), Length(max=100)],
                               description="Passed as the DD projects' roles, so the experiment's people can "
                                           "see and work on them.")
    default_namespace = StringField("Default namespace", validators=[Optional(), Length(max=200)])
    default_worker_timeout = IntegerField("Default worker timeout (s)", validators=[Optional(), NumberRange(min=0)])
    default_idle_timeout = IntegerField("Default idle timeout (s)", validators=[Optional(), NumberRange(min=0)])
    active = BooleanField("Active", default=True)
    ca_path = StringField("CA bundle or directory", validators=[Optional(), Length(max=500)],
                          description="Absolute path on the poms_dd server of the CAs that sign the services' "
                                      "certificates: a PEM bundle file or a hashed CA directory such as "
                                      "/etc/grid-security/certificates. Empty: $X509_CERT_DIR, then "
                                      "$REQUESTS_CA_BUNDLE, then the certifi bundle.")
    verify_tls = BooleanField("Verify server certificates", default=True,
                              description="Leave on. Off accepts any certificate (and sends passwords and tokens "
                                          "to whoever answers): only for test servers.")
    service_timeout = IntegerField("Timeout per request (s)", validators=[Optional(), NumberRange(min=1)],
                                   description="How long one request to MetaCat, Data Dispatcher or Rucio may "
                                               "take, logins included. Empty: 60 s.")
    rucio_vo = StringField("Rucio VO", validators=[Optional(), Length(max=50)],
                           description="The 3-character VO tag of a multi-VO Rucio server. Empty: def.")
    metacat = FormField(ServiceCredentialForm, label="MetaCat")
    data_dispatcher = FormField(ServiceCredentialForm, label="Data Dispatcher")
    rucio = FormField(ServiceCredentialForm, label="Rucio")


class MemberForm(FlaskForm):
    """Add a member, or change a member's role."""

    username = StringField("Username", validators=[DataRequired(), Length(max=100)])
    role = SelectField("Role", choices=list(values(Role)), default=Role.ANALYSIS.value)


# --- Campaigns and stages (poms_dd/views/campaigns.py) -----------------------------------------------------
# Numbers are text fields: CampaignService checks them (one set of messages for the pages, the API and INI).

_SERVICE_LABELS = {DataHandlingService.SAM: "SAM (legacy)", DataHandlingService.DATA_DISPATCHER: "Data Dispatcher"}
_SERVICES = [SelectChoice(s.value, _SERVICE_LABELS[s]) for s in DataHandlingService]
_TEXT = [Optional(), Length(max=500)]


_RECOVERY_LABELS = {AutoRecovery.NONE: "none", AutoRecovery.FAILED: "failed files",
                    AutoRecovery.NOT_DONE: "files not done", AutoRecovery.ALL: "all files"}


class CampaignForm(FlaskForm):
    name = StringField("Campaign name", validators=[DataRequired(), Length(max=200)])
    data_handling_service = SelectField("Data handling service", choices=_SERVICES, default="data_dispatcher",
                                        description="Data Dispatcher stages use an MQL query or a DD project "
                                                    "instead of a SAM dataset.")
    keywords = TextAreaField("Campaign keywords", validators=[Optional(), Length(max=20000)],
                             description="One 'name = value' per line; write %(name)s in stage fields.")
    tags = StringField("Tags", validators=_TEXT, description="Comma-separated.")
    state = SelectField("State", choices=list(values(CampaignState)), default=CampaignState.ACTIVE.value)
    dd_worker_timeout = StringField("DD worker timeout (s)", validators=_TEXT,
                                    description="Default for the stages; empty: the experiment's default.")
    dd_idle_timeout = StringField("DD idle timeout (s)", validators=_TEXT)
    dd_virtual = BooleanField("Virtual DD projects (no real files)")
    dd_load_limit = StringField("DD load limit", validators=_TEXT,
                                description="Most files a worker may hold at once; empty: no limit.")


class StageForm(FlaskForm):
    name = StringField("Stage name", validators=[DataRequired(), Length(max=200)])
    role = SelectField("Role", choices=list(values(StageRole)),
                       default=StageRole.ANALYSIS.value, description="Production stages can only be changed and launched by "
                                                       "production members.")
    sam_dataset = StringField("SAM dataset", validators=_TEXT)
    data_dispatcher_dataset_query = TextAreaField(
        "Data Dispatcher query", validators=[Optional(), Length(max=100000)],
        description="An MQL file query, e.g. files from hypot:raw where core.runs[any] = 1202. For stagedfiles(n), "
                    "a DD project id.")
    data_dispatcher_project_id = StringField(
        "Data Dispatcher project id", validators=_TEXT,
        description="Instead of a query: every launch uses this existing project (split type must be empty).")
    split_type = StringField("Split type", validators=_TEXT,
                             description="draining, drainingn(n), nfiles(n), limitn(n), mod(m), "
                                         "byrun(low=a,high=b), byexistingruns, list(...), multiparam(...), "
                                         "new(window=1d), stagedfiles(n)")
    test_split_type = StringField("Test split type", validators=_TEXT)
    dd_worker_timeout = StringField("DD worker timeout (s)", validators=_TEXT)
    dd_idle_timeout = StringField("DD idle timeout (s)", validators=_TEXT)
    dd_virtual = SelectField("Virtual DD project", choices=[
        SelectChoice("", "as the campaign"), SelectChoice("true", "yes"), SelectChoice("false", "no")], default="")
    dd_load_limit = StringField("DD load limit", validators=_TEXT)
    completion_type = SelectField("Completion type", choices=list(values(CompletionType)))
    completion_pct = StringField("Completion %", validators=_TEXT, default="95")
    output_file_patterns = StringField("Output file patterns", validators=_TEXT, default="%")
    output_ancestor_depth = StringField("Output ancestor depth", validators=_TEXT, default="1")
    software_version = StringField("Software version", validators=[Optional(), Length(max=100)])
    job_config = StringField("Job config", validators=_TEXT)
    auto_recovery = SelectField("Automatic recovery", choices=[SelectChoice(a.value, _RECOVERY_LABELS[a])
                                                               for a in AutoRecovery])
    hold = BooleanField("Hold launches")
    cron_schedule = StringField("Cron schedule", validators=[Optional(), Length(max=100)],
                                description="e.g. 0 */6 * * * (UTC); empty: no scheduled launches.")


class DependencyForm(FlaskForm):
    provider_stage_id = SelectField("Depends on stage", coerce=int, choices=[])
    file_pattern = StringField("File pattern", validators=_TEXT, default="%",
                               description="Only the provider's output files whose names match (MQL ~ regex "
                                           "or % for all).")


class CloneForm(FlaskForm):
    name = StringField("Name of the copy", validators=[Optional(), Length(max=200)],
                       description="Empty: the campaign name with the replacement below applied.")
    replace_from = StringField("Replace", validators=_TEXT)
    replace_to = StringField("with", validators=_TEXT,
                             description="Replaced in the campaign name, keyword values, stage names, queries, "
                                         "SAM datasets, output patterns and job configs.")
