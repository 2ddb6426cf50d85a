"""API tokens: shown once at creation, stored as a SHA-256 hash, revocable."""

from django.conf import settings
from django.db import models


class ApiToken(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    # The first characters of the token, kept in clear so a user can tell their tokens apart.
    prefix = models.CharField(max_length=12, db_index=True)
    # Tokens are 256-bit random strings, so a plain SHA-256 is enough (no dictionary to attack).
    token_hash = models.CharField(max_length=64, unique=True)
    read_only = models.BooleanField(default=False, help_text="Read-only tokens cannot submit intents.")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API token"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
