"""Password hashes without the web stack, compatible both ways with the werkzeug format stored before."""
from werkzeug.security import check_password_hash, generate_password_hash

from poms_dd.services.accounts.credentials import check_password, generate_token, hash_password, hash_token


def test_our_hashes_verify_and_are_salted():
    stored = hash_password("correct horse")
    assert stored.startswith("scrypt:") and "correct horse" not in stored
    assert check_password(stored, "correct horse") and not check_password(stored, "correct horsE")
    assert hash_password("correct horse") != stored


def test_werkzeug_hashes_stored_earlier_still_verify_and_ours_verify_in_werkzeug():
    for method in ("scrypt", "pbkdf2:sha256:1000"):
        old = generate_password_hash("s3cret-pw", method=method)
        assert check_password(old, "s3cret-pw") and not check_password(old, "other")
    assert check_password_hash(hash_password("s3cret-pw"), "s3cret-pw")


def test_unreadable_hashes_never_verify():
    for stored in ("", "plain", "md5$x$y", "scrypt:x:y:z$salt$00", "pbkdf2:sha256:notanumber$s$00"):
        assert not check_password(stored, "anything")


def test_tokens_are_random_and_only_their_digest_is_kept():
    a, b = generate_token(), generate_token()
    assert a != b and a.startswith("pdd_") and len(a) > 40
    assert hash_token(a) == hash_token(a) != hash_token(b) and len(hash_token(a)) == 64
