"""Onboarding experiments (SPEC §7): settings and secrets, connection tests, service tokens, and the
connections (decrypted settings → cached adapters) every other service uses to reach MetaCat, DD and Rucio."""
