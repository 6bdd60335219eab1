"""flask-wtf forms: field validation only (business rules live in the services).

One section per area; add new forms under a section header of their own.  Every form carries a CSRF token
(``{{ form.csrf_token }}`` or the ``csrf_field()`` macro in ``templates/poms_dd/_macros.html``).
"""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, PasswordField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

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
