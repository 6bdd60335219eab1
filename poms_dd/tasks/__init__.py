"""The background worker (launches, scheduled launches, the tracking refresher) on a PostgreSQL job queue.

Reserved: the launch issue adds the queue setup and the jobs here.  Jobs build their services through
``poms_dd.services.factory.Services`` with a named system actor, exactly as the views and the CLI do.
"""
