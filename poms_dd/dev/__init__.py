"""Development tools: the demo (``demo.py``) and the private PostgreSQL the demo and the tests run on
(``devdb.py``)."""
