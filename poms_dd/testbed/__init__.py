"""A protocol-faithful local MetaCat + Data Dispatcher + Rucio for tests, the demo and rehearsals (SPEC §9).

``poms_dd.testbed.server.make_app(store)`` builds the WSGI app; ``poms-dd testbed`` serves it.
"""
