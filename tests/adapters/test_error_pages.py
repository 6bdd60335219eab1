"""Real MetaCat and DD servers (webpie) answer an unhandled exception with HTTP 500 text/html: the exception
in <h3>, the traceback with server paths in <pre>.  A person sees only the exception line."""
from __future__ import annotations

import pytest

from poms_dd.adapters import DataDispatcherAdapter, MetaCatAdapter
from poms_dd.errors import ExternalServiceError

from adapter_helpers import forge_token, make_conn
from fake_server import FakeServer

TRACEBACK = '''Traceback (most recent call last):
  File "/opt/metacat/server/lib/python3.9/site-packages/webpie/WPApp.py", line 594, in wsgi_call
    response = root_handler.handle(request, "", path_down, args)
  File "/home/metacat/prod/server/data_handler.py", line 881, in query
    results = query.run(db, filters=self.App.filters(), with_meta=with_meta)
  File "/home/metacat/prod/server/metacat/mql/mql10.py", line 412, in run
    c.execute(sql)
psycopg2.errors.UndefinedFunction: operator does not exist: timestamp with time zone > double precision
LINE 1: ... where f.created_timestamp > 1704067200.0 and "secret_db_password=hunter2"
'''
HEADLINE = "operator does not exist: timestamp with time zone > double precision"


def webpie_page(headline: str, traceback: str = TRACEBACK) -> str:
    """Exactly what webpie's ``WPApp.applicationErrorResponse`` sends (headline and traceback not escaped)."""
    return """<html><body><h2>Application error</h2>
            <h3>%s</h3>
            <pre>\n%s</pre>
            </body>
            </html>""" % (headline, traceback)


NGINX_502 = ("<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1>"
             "</center>\r\n<hr><center>nginx/1.20.1</center>\r\n</body>\r\n</html>\r\n")


def test_the_exception_line_of_a_webpie_page_is_kept_and_nothing_else():
    from poms_dd.adapters.errors import html_error_text
    text = html_error_text(webpie_page(HEADLINE), 500)
    assert text == HEADLINE
    for never in ("Traceback", "/opt/metacat", "data_handler.py", "hunter2", "<pre>", "<h3>"):
        assert never not in text


def test_the_exception_line_is_unescaped_stripped_of_server_paths_and_capped():
    from poms_dd.adapters.errors import MAX_SERVER_EXCEPTION, html_error_text
    assert html_error_text(webpie_page("KeyError: &#39;file_handles&#39; &amp; &lt;more&gt;")) == \
        "KeyError: 'file_handles' & <more>"
    assert html_error_text(webpie_page("'<' not supported between instances of 'NoneType' and 'int'")) == \
        "'<' not supported between instances of 'NoneType' and 'int'"
    path = html_error_text(webpie_page("[Errno 2] No such file or directory: '/etc/metacat/server.yaml'"))
    assert path == "[Errno 2] No such file or directory: '<server path>'"
    long = html_error_text(webpie_page("x" * 5000))
    assert len(long) <= MAX_SERVER_EXCEPTION + 2 and long.endswith(" …")
    multiline = html_error_text(webpie_page('column "x" does not exist\nLINE 1: select x from files'))
    assert multiline == 'column "x" does not exist LINE 1: select x from files'


def test_other_html_pages_become_a_short_message_and_text_is_left_alone():
    from poms_dd.adapters.errors import html_error_text
    assert html_error_text(NGINX_502, 502) == "the server answered an HTML error page (HTTP 502)"
    assert html_error_text("<!DOCTYPE html><html><body><p>Forbidden</p></body></html>", 403) == \
        "the server answered an HTML error page (HTTP 403)"
    assert html_error_text(webpie_page(""), 500) == "the server answered an HTML error page (HTTP 500)"
    assert html_error_text("Inactive project. State=done", 400) is None
    assert html_error_text("", 500) is None and html_error_text(None) is None


def _webpie_server(prefix: str) -> FakeServer:
    """A MetaCat/DD stand-in: logins succeed, every data call fails with webpie's 500 page."""
    def route(method: str, path: str, query: str):
        if path == f"{prefix}/auth/auth":
            return 200, "text/plain", "", {"X-Authentication-Token": forge_token("poms")}
        return 500, "text/html; charset=UTF-8", webpie_page(HEADLINE), {}
    return FakeServer(route)


@pytest.mark.parametrize("service", ["metacat", "dd"])
def test_a_webpie_500_page_reaches_a_person_as_its_exception_line(tmp_path, service):
    with _webpie_server("/svc") as server:
        conn = make_conn(type("TB", (), {"mc_url": server.url + "/svc", "dd_url": server.url + "/svc",
                                         "rucio_url": None})(), tmp_path)
        with pytest.raises(ExternalServiceError) as err:
            if service == "metacat":
                MetaCatAdapter(conn).count("files from hypot:raw")
            else:
                DataDispatcherAdapter(conn).list_rses()
    message = err.value.message
    assert f"answered HTTP 500 (server error): {HEADLINE}; try again later" in message
    for never in ("Traceback", "/opt/metacat", "/home/metacat", "data_handler.py", "hunter2", "<pre>", "<h2>"):
        assert never not in message, message
