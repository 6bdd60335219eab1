"""INI import and MQL check cost (a script, not a test):

    .venv/bin/python benchmarks/ini_import_cost.py [--names 100000]

Prints the CPU time of

  (a) ``build_plan`` (the whole check of an INI file, no database) for a ``campaign_stage_list`` of N names
      without sections, and with a section for a quarter of them;
  (b) ``ini.service.stage_order`` (the export/audit ordering of the import) for 1,000 and 2,000 stages;
  (c) MetaCat's parser on the largest stage query the rules let through (``MAX_MQL_PARTS`` parts) and the
      text check that refuses a 2 MB ``or`` chain before parsing.
"""
from __future__ import annotations

import argparse
import time
from types import SimpleNamespace

from poms_dd.services.campaigns.stage_rules import MAX_MQL_PARTS, _parse_outcome, mql_too_complex
from poms_dd.services.ini.plan import build_plan
from poms_dd.services.ini.service import stage_order


def cpu(fn) -> float:
    start = time.process_time()
    fn()
    return time.process_time() - start


def ini_file(n: int, sections: int) -> str:
    names = [f"s{i}" for i in range(n)]
    return ("[campaign]\nname=c\ndata_handling_service=data_dispatcher\ncampaign_stage_list=" + ",".join(names)
            + "\n" + "".join(f"[campaign_stage {x}]\ndata_dispatcher_dataset_query=files from a:b\n"
                             for x in names[:sections]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--names", type=int, default=100_000)
    n = parser.parse_args().names
    print(f"build_plan, {n} listed names, no sections:   {cpu(lambda: build_plan(ini_file(n, 0))):6.2f} s")
    print(f"build_plan, {n} listed, {n // 4} sections:   {cpu(lambda: build_plan(ini_file(n, n // 4))):6.2f} s")
    for count in (1_000, 2_000):
        stages = [SimpleNamespace(name=f"s{i}", dependencies=[], campaign_id=1) for i in range(count)]
        print(f"stage_order, {count} stages:                 {cpu(lambda: stage_order(stages)):6.2f} s")
    terms = MAX_MQL_PARTS // 7
    query = "files from hypot:raw where " + " or ".join(f"core.runs[any] = {i}" for i in range(terms))
    print(f"MetaCat parser, {terms} or-terms (at the parts limit): {cpu(lambda: _parse_outcome(query)):6.2f} s")
    chain = "files from hypot:raw where " + " or ".join(f"core.runs[any] = {i}" for i in range(90_000))
    print(f"text check of a {len(chain) // 1_000_000} MB or-chain: {cpu(lambda: mql_too_complex(chain)):6.4f} s "
          f"({mql_too_complex(chain)})")


if __name__ == "__main__":
    main()
