"""boto3 clients for the configured target.

With real AWS, credentials come only from the standard boto3 chain (profile, SSO, role, env).
`AWS_ENDPOINT_URL` (settings.endpoint_url) points every client at an AWS-compatible endpoint.
Static credentials may be passed for such an endpoint; they are never read from settings.
Every client turns AccessDenied into `PermissionMissing` (recovery/aws/permissions.py).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from recovery.aws import permissions
from recovery.errors import ConfigError
from recovery.settings import Settings

_CONFIG = Config(retries={"max_attempts": 4, "mode": "standard"}, connect_timeout=5, read_timeout=30)


@dataclass(frozen=True)
class StaticCredentials:
    access_key: str
    secret_key: str


class Aws:
    """One boto3 session per run; clients are created once per service and reused."""

    def __init__(self, settings: Settings, credentials: StaticCredentials | None = None) -> None:
        self.settings = settings
        kwargs: dict[str, Any] = {"region_name": settings.region}
        if credentials is not None:
            kwargs.update(aws_access_key_id=credentials.access_key, aws_secret_access_key=credentials.secret_key)
        self.session = boto3.session.Session(**kwargs)
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def client(self, service: str) -> Any:
        with self._lock:
            if service not in self._clients:
                kwargs: dict[str, Any] = {"config": _CONFIG}
                if self.settings.endpoint_url:
                    kwargs["endpoint_url"] = self.settings.endpoint_url
                client = self.session.client(service, **kwargs)  # type: ignore[call-overload]
                if service == "s3control" and self.settings.endpoint_url:
                    drop_account_host_prefix(client, self.settings.endpoint_url)
                self._clients[service] = permissions.install(client, "health")
            return self._clients[service]

    def account_id(self) -> str:
        """The account the credentials belong to; a ConfigError if there are none."""
        try:
            return str(self.client("sts").get_caller_identity()["Account"])
        except NoCredentialsError:
            raise ConfigError(
                "AWS credentials", "none found in the boto3 chain (profile, SSO, role or environment)"
            ) from None
        except (ClientError, BotoCoreError) as exc:
            where = self.settings.endpoint_url or f"AWS {self.settings.region}"
            raise ConfigError("AWS credentials / AWS_ENDPOINT_URL", f"cannot call STS at {where}: {exc}") from None


def drop_account_host_prefix(client: Any, endpoint_url: str) -> None:
    """S3 Control puts the account in the host (`<account>.s3-control.<region>.amazonaws.com`).

    Against an AWS-compatible endpoint that host does not resolve, and botocore would retry the
    connection error with back-off (about 10 s) before the caller could tell. The rewrite happens
    before signing, so the signature covers the host actually called. Real AWS keeps the prefix.
    """
    host = urlsplit(endpoint_url).netloc

    def rewrite(request: Any, **_: Any) -> None:
        parts = urlsplit(request.url)
        if parts.netloc.endswith(f".{host}"):
            request.url = parts._replace(netloc=host).geturl()

    client.meta.events.register("before-sign.s3-control", rewrite)


def error_code(exc: BaseException) -> str:
    """The AWS error code of a ClientError, or the exception class name."""
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", "ClientError"))
    return type(exc).__name__
