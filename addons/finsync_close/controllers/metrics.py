"""``/finsync/metrics``: FinSync's figures in the Prometheus text exposition format.

Authentication is a bearer token set in Settings (``finsync_close.metrics_token``),
compared in constant time. No token configured: 404, as if the route did not exist;
a missing or wrong token: 401 with no detail. The figures come from
``finsync.figures`` (one aggregate per family, index-backed) and the request only reads.
"""

import hmac
import logging

from odoo import SUPERUSER_ID, api, http
from odoo.http import request

from ..models.res_config_settings_metrics import METRICS_TOKEN_PARAM

_logger = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class FinsyncMetrics(http.Controller):
    @http.route(
        "/finsync/metrics",
        type="http",
        auth="none",
        methods=["GET"],
        csrf=False,
        save_session=False,
    )
    def metrics(self, **_kwargs):
        if not request.db:
            return request.make_response("", status=404)
        # Superuser on purpose: the scraper is no Odoo user; it reads aggregates of
        # every company and nothing else, once the token below is checked. Read-only.
        env = api.Environment(request.env.cr, SUPERUSER_ID, {})
        expected = env["ir.config_parameter"].get_param(METRICS_TOKEN_PARAM) or ""
        if not expected:
            return request.make_response("", status=404)
        header = request.httprequest.headers.get("Authorization", "")
        scheme, _sep, token = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            token.strip().encode(), expected.encode()
        ):
            _logger.warning("FinSync metrics: refused a scrape without the right token")
            return request.make_response(
                "", status=401, headers=[("WWW-Authenticate", 'Bearer realm="finsync"')]
            )
        body = env["finsync.figures"]._metrics_text()
        return request.make_response(body, headers=[("Content-Type", CONTENT_TYPE)])
