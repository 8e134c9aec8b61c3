"""The local stand-in for AWS: one HTTP server on 127.0.0.1 for S3, IAM, STS, Lambda, Bedrock.

S3, IAM, STS and Lambda's control plane are served by moto's server; Lambda's ``Invoke`` by
:mod:`standin.lambdas` (the function's Python code in a subprocess); Bedrock (control plane
and runtime) by this package's own service (:mod:`standin.bedrock`), which follows botocore's
service model. Requests are routed by the service named in their SigV4 signature.

Start it from Python with :meth:`StandIn.start`, or from a shell with
``python -m standin``, which prints the ``export`` lines a shell needs. The package imports
nothing from the workshop (``utils``): it is an emulator with its own statement of the facts.
"""

from __future__ import annotations

import logging
import os
import shutil
import ssl
import tempfile
import threading
import urllib.request
from pathlib import Path
from typing import Any, cast

DEFAULT_REGION = "us-east-1"
"""Where the stand-in plays Bedrock when nobody names a Region."""

DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


class StandIn:
    """A running local stand-in; use :meth:`start`, then :attr:`env` and :meth:`stop`."""

    def __init__(
        self,
        server: Any,
        thread: threading.Thread,
        region: str,
        ca_bundle: Path | None = None,
    ) -> None:
        self._server = server
        self._thread = thread
        self.region = region
        self.ca_bundle = ca_bundle
        host, port = server.server_address[:2]
        self.endpoint = f"{'https' if ca_bundle else 'http'}://{host}:{port}"

    @classmethod
    def start(
        cls,
        port: int = 0,
        job_seconds: float | None = None,
        region: str = DEFAULT_REGION,
        tls: bool = True,
    ) -> StandIn:
        """Start the server in a background thread (``port=0`` picks a free port).

        With ``tls`` (the default) it serves HTTPS with a certificate made now, which
        :attr:`env` tells clients to trust; plain HTTP is for debugging with curl only,
        since the workshop bucket refuses requests that do not use TLS.
        """
        from werkzeug.serving import make_server

        # werkzeug logs every request at INFO; polling loops would drown the notebook output.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)

        from standin.server import build_app, request_handler

        context, ca_bundle = None, None
        if tls:
            from standin.tls import make_certificate

            ca_bundle, key = make_certificate(Path(tempfile.mkdtemp(prefix="workshop-standin-")))
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(ca_bundle, key)
        app = build_app(job_seconds=job_seconds)
        server = make_server(
            "127.0.0.1",
            port,
            app,
            threaded=True,
            request_handler=request_handler(),
            ssl_context=context,
        )
        thread = threading.Thread(target=server.serve_forever, name="standin", daemon=True)
        thread.start()
        standin = cls(server, thread, region, ca_bundle)
        app.bedrock.region = region
        app.bedrock.endpoint = standin.endpoint
        app.bedrock.ca_bundle = str(ca_bundle) if ca_bundle else None
        # Functions run in processes of their own: they reach the stand-in like any client.
        app.lambdas.endpoint = standin.endpoint
        app.lambdas.ca_bundle = str(ca_bundle) if ca_bundle else None
        return standin

    @property
    def bedrock(self) -> Any:
        """The stand-in's Bedrock service (:class:`standin.bedrock.LocalBedrock`)."""
        return self._server.app.bedrock

    @property
    def lambdas(self) -> Any:
        """The stand-in's Lambda runner (:class:`standin.lambdas.LocalLambda`)."""
        return self._server.app.lambdas

    @property
    def env(self) -> dict[str, str]:
        """Environment variables that point boto3 (and papermill kernels) at this stand-in."""
        env = {
            "AWS_ENDPOINT_URL": self.endpoint,
            **DUMMY_CREDENTIALS,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
        }
        if self.ca_bundle:
            env["AWS_CA_BUNDLE"] = str(self.ca_bundle)
        return env

    def apply_env(self, environ: dict[str, str] | os._Environ[str] = os.environ) -> None:
        """Write :attr:`env` into ``environ`` and drop variables that would override it."""
        for var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
            environ.pop(var, None)
        environ.update(self.env)

    def request(self, path: str, method: str = "GET", data: bytes | None = None) -> bytes:
        """One plain HTTP(S) request to the stand-in (admin paths); returns the body."""
        req = urllib.request.Request(self.endpoint + path, method=method, data=data)
        context = ssl.create_default_context(cafile=self.ca_bundle) if self.ca_bundle else None
        with urllib.request.urlopen(req, timeout=10, context=context) as resp:
            return cast(bytes, resp.read())  # typeshed types urlopen's response as Any

    def reset(self) -> None:
        """Forget every resource (S3, IAM, Bedrock) the stand-in holds."""
        for path in ("/moto-api/reset", "/_workshop/reset"):
            self.request(path, method="POST", data=b"")

    def inject(self, **rule: Any) -> None:
        """Add a fault (see :mod:`standin.faults`), e.g. ``inject(operation="job",
        outcome="Failed")`` or ``inject(operation="iam:CreateRole", error="AccessDenied")``."""
        self._server.app.faults.add(rule)

    def set_quota(self, code: str, value: float) -> None:
        """Change one of the stand-in account's Bedrock quotas (see :mod:`standin.quotas`)."""
        self._server.app.bedrock.quotas.set(code, value)

    def play(self, account: str = "established", day: str | None = None) -> None:
        """Play a ``new`` or ``established`` account on ``day`` (ISO date; None: today).

        The same as ``WORKSHOP_STANDIN_ACCOUNT`` and ``WORKSHOP_STANDIN_DATE`` at start; a
        :meth:`reset` goes back to those. Quotas take the account's values.
        """
        self._server.app.bedrock.play(account, day)

    def faults_served(self) -> int:
        """How many calls injected faults have made fail since the stand-in started."""
        return int(self._server.app.faults.served)

    def clear_faults(self) -> None:
        """Remove every injected fault (``reset`` does too)."""
        self._server.app.faults.clear()

    def stop(self) -> None:
        """Stop serving and wait for the server thread to end."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
        self._server.app.lambdas.close()
        if self.ca_bundle:
            shutil.rmtree(self.ca_bundle.parent, ignore_errors=True)

    def __enter__(self) -> StandIn:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
