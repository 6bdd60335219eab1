"""Packaging for poms_dd.

Templates and migrations live at the top level of the repository (the design card fixes the layout);
they are shipped inside the wheel as package data of ``poms_dd`` under ``poms_dd/_data/`` so that a
plain ``pip install .`` (not only an editable install) works.  ``poms_dd.paths`` finds them in both cases.
"""
import os
import shutil

from setuptools import find_namespace_packages, setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))
SHIPPED_TREES = ("templates", "migrations", "config")


class BuildPyWithData(build_py):
    """Copy templates/ and migrations/ into poms_dd/_data/ of the build tree."""

    def run(self):
        super().run()
        for tree in SHIPPED_TREES:
            src = os.path.join(HERE, tree)
            dst = os.path.join(self.build_lib, "poms_dd", "_data", tree)
            if os.path.isdir(dst):
                shutil.rmtree(dst)
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


setup(
    name="poms_dd",
    version="0.1.0",
    description="Data Dispatcher extension of a POMS-style campaign manager",
    long_description=open(os.path.join(HERE, "README.md"), encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.11",
    # Namespace-package discovery also lists the data-only folders (static/, the MetaCat parser's stub
    # directory), so setuptools ships them without the "absent from the packages configuration" warning.
    packages=find_namespace_packages(include=["poms_dd", "poms_dd.*"], exclude=["*.__pycache__"]),
    include_package_data=True,
    package_data={"poms_dd": ["openapi.yaml"], "poms_dd.static": ["*"]},
    cmdclass={"build_py": BuildPyWithData},
    install_requires=[
        "flask>=3.0,<3.2",
        "werkzeug>=3.0,<3.2",
        "jinja2>=3.1,<3.2",
        "sqlalchemy>=2.0.30,<2.2",
        "alembic>=1.13,<2",
        "psycopg2-binary>=2.9.9,<3",
        "flask-wtf>=1.2,<2",
        "wtforms>=3.3,<4",
        "flask-login>=0.6.3,<0.7",
        "requests>=2.31,<3",
        "metacat-client>=4.1.5,<4.2",
        "datadispatcher-client>=2.0.3,<2.1",
        "rucio-clients>=41.5,<42",
        "cryptography>=42,<51",
        "tenacity>=8.2,<10",
        "pyjwt>=2.8,<3",
        "pyyaml>=6,<7",
        "lark>=1.1,<2",
        "croniter>=2,<8",
        "gunicorn>=22,<28",
        "flask-talisman>=1.1,<2",
        # The job queue of the background worker (launches, schedules, refreshes).  Pinned to a minor release:
        # its schema is applied by our Alembic revision 0004 from the SQL file of this release.
        "procrastinate>=3.10,<3.11",
        "psycopg[binary]>=3.2,<4",
    ],
    extras_require={
        "test": [
            "pytest>=8,<10",
            "playwright>=1.45,<2",
            "openapi-spec-validator>=0.7,<0.9",
            "jsonschema>=4.18,<5",
            "hypothesis>=6.100,<7",
        ],
    },
    entry_points={"console_scripts": ["poms-dd=poms_dd.cli:run_main"]},
)
