# gunicorn -c config/gunicorn.conf.py 'poms_dd.web.wsgi:app'
# Behind the SSO proxy (Apache/nginx with Shibboleth/OIDC) that sets the trusted header; listen on loopback
# only so that nobody can reach gunicorn directly and forge the header.
bind = "127.0.0.1:8080"
workers = 3
threads = 4
worker_class = "gthread"
timeout = 120
accesslog = "-"
errorlog = "-"
forwarded_allow_ips = "127.0.0.1"
