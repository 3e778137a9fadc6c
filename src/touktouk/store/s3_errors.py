"""S3 errors: boto's exceptions as one sentence with the fix, and which of them a retry may cure."""

from __future__ import annotations

from urllib.parse import urlsplit

from touktouk.store.base import StoreError

THROTTLED = ("SlowDown", "Throttling", "ThrottlingException", "RequestLimitExceeded", "ServiceUnavailable")


def safe_endpoint(url: str | None) -> str:
    """Endpoint for messages, with any user:password@ removed."""
    if not url:
        return "AWS S3"
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return f"{parts.scheme}://{host}{parts.path}" if parts.scheme else url


def _find_botocore_error(exc: BaseException) -> BaseException:
    """Dig the botocore error out of boto3/s3transfer wrappers (S3UploadFailedError etc.)."""
    from botocore.exceptions import BotoCoreError, ClientError

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, (ClientError, BotoCoreError)):
            return seen
        seen = seen.__cause__ or seen.__context__
    return exc


def s3_error(exc: BaseException, action: str, where: str, endpoint: str, bucket: str) -> StoreError:
    """Translate a boto error into one sentence with a fix; never includes secrets."""
    from botocore.exceptions import (
        ClientError,
        ConnectionClosedError,
        ConnectTimeoutError,
        EndpointConnectionError,
        NoCredentialsError,
        PartialCredentialsError,
        ReadTimeoutError,
    )

    what = f"could not {action} {where} at {endpoint}"
    err = _find_botocore_error(exc)
    if isinstance(err, (NoCredentialsError, PartialCredentialsError)):
        return StoreError(
            f"{what}: no AWS credentials found; set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or a profile (AWS_PROFILE)"
        )
    if isinstance(err, (EndpointConnectionError, ConnectTimeoutError)):
        return StoreError(
            f"{what}: the endpoint cannot be reached; check AWS_ENDPOINT_URL (or the "
            "endpoint_url setting) and that the S3 server is running"
        )
    if isinstance(err, (ConnectionClosedError, ReadTimeoutError)):
        return StoreError(
            f"{what}: the connection dropped after retries; check the network and AWS_ENDPOINT_URL, then retry"
        )
    if isinstance(err, ClientError):
        code = str(err.response.get("Error", {}).get("Code", ""))
        status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code == "NoSuchBucket":
            return StoreError(
                f"{what}: bucket {bucket!r} does not exist; create the bucket "
                f"(e.g. aws s3 mb s3://{bucket}) or fix the store url"
            )
        if code in ("NoSuchKey", "404", "NotFound"):
            return StoreError(f"{what}: no such object; check the key or write it first")
        if code == "InvalidAccessKeyId":
            return StoreError(
                f"{what}: the access key is unknown to this endpoint; set "
                "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or a profile for it, and check "
                "AWS_ENDPOINT_URL"
            )
        if code == "SignatureDoesNotMatch":
            return StoreError(
                f"{what}: the request signature was rejected (wrong secret key); fix "
                "AWS_SECRET_ACCESS_KEY or the profile, and check AWS_ENDPOINT_URL"
            )
        if code in ("AccessDenied", "403", "Forbidden") or status == 403:
            return StoreError(
                f"{what}: access denied; set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or a "
                f"profile allowed to use bucket {bucket!r}"
            )
        if code in THROTTLED or (isinstance(status, int) and status >= 500):
            return StoreError(
                f"{what}: the server kept failing ({status} {code}) after retries; try again later: "
                "objects already stored are kept and a re-run sends only what is missing"
            )
        if code in ("BadDigest", "XAmzContentSHA256Mismatch", "InvalidDigest"):
            return StoreError(
                f"{what}: the server saw corrupted data ({code}); retry the upload and "
                "check any proxy between here and the endpoint"
            )
        return StoreError(
            f"{what}: the server answered {code or status}; check the bucket, the credentials and AWS_ENDPOINT_URL"
        )
    # Only the exception type: str() of unknown errors could echo request details.
    return StoreError(f"{what}: {type(err).__name__}; check AWS_ENDPOINT_URL, the credentials and the network")


def is_transient(exc: BaseException) -> bool:
    """True when `exc` (or what caused it) is a network or server-side failure that a later try
    may not meet: dropped or refused connections, timeouts, 5xx answers and throttling. User
    errors (bad config, bad media, missing bucket, wrong credentials) are not transient."""
    from botocore.exceptions import (
        ClientError,
        ConnectionClosedError,
        ConnectTimeoutError,
        EndpointConnectionError,
        ReadTimeoutError,
        ResponseStreamingError,
    )

    seen: BaseException | None = exc
    while seen is not None:
        dropped = (EndpointConnectionError, ConnectionClosedError, ConnectTimeoutError, ReadTimeoutError)
        if isinstance(seen, (*dropped, ResponseStreamingError)):
            return True
        if isinstance(seen, ClientError):
            code = str(seen.response.get("Error", {}).get("Code", ""))
            status = seen.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            return code in THROTTLED or (isinstance(status, int) and status >= 500)
        if isinstance(seen, (ConnectionError, TimeoutError)):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
