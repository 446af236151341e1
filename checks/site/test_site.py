"""Plan §5.1 basic connectivity, and the §6.4 picture (homepage 200, /login/ 502).

Production under `-m health`; the drill's recovered site under `-m drill` (plan §4 step 5).
"""

from __future__ import annotations

from collections.abc import Callable

from fixtures.meta import BOTH_MODES, check
from recovery.site import Site, short

DIAGNOSE = (
    "aws logs tail {log_group} --since 10m | grep -i 'password\\|fatal\\|error'; "
    "curl -k -sS '{site_url}/api/records?size=1'; then plan §6.1"
)


@check(
    "5.1",
    severity="critical",
    remediation="aws ecs describe-services --cluster {ecs_cluster} --services {web_services}; "
    "aws logs tail {log_group} --since 5m",
    modes=BOTH_MODES,
)
def test_site_homepage_ok(site: Site, observed: Callable[[str], None]) -> None:
    """The homepage answers 200."""
    ans = site.get("/")
    observed(f"GET {ans.url} -> {ans.status or 'no answer'}")
    assert ans.status == 200, f"homepage: {short(ans)}"


@check("5.1", severity="critical", remediation=DIAGNOSE, modes=BOTH_MODES)
def test_site_api_records_total_positive(site: Site, observed: Callable[[str], None]) -> None:
    """`/api/records?size=1` answers JSON with hits.total > 0 (the API reaches DB and index)."""
    ans, total = site.records_total()
    observed(f"GET {ans.url} -> {ans.status or 'no answer'}, hits.total {total}")
    assert ans.status == 200, f"Site returns {ans.status} (plan §6.4 when 502): {short(ans)}"
    assert total is not None, f"no hits.total in the answer of {ans.url}"
    assert total > 0, (
        f"{ans.url} reports hits.total = {total}: empty database or empty index after a restore (plan §6.2)"
    )


@check("6.4", severity="critical", remediation=DIAGNOSE, modes=BOTH_MODES)
def test_site_login_not_5xx(site: Site, observed: Callable[[str], None]) -> None:
    """`/login/` answers without a server error (it reads the database)."""
    ans = site.get("/login/")
    observed(f"GET {ans.url} -> {ans.status or 'no answer'}")
    assert ans.status != 0, f"/login/ does not answer: {short(ans)}"
    assert not ans.is_5xx, (
        f"Site returns {ans.status} on /login/ while the homepage may still answer 200: the web app cannot "
        f"reach the database (password or endpoint): {short(ans)}"
    )
