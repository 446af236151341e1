"""The twin's account spec from the suite's settings: the twin takes the names an operator configured."""

from __future__ import annotations

from recovery.settings import Settings
from twin.account import AccountSpec


def spec_from_settings(s: Settings) -> AccountSpec:
    prefix = s.log_group.rsplit("/", 1)[0] if s.log_group.count("/") >= 2 else "/invenio-default"
    return AccountSpec(
        region=s.region,
        rds_instance=s.rds_instance,
        db_user=s.db_user,
        db_name=s.db_name,
        ecs_cluster=s.ecs_cluster,
        services=s.ecs_services,
        app_container=s.app_container,
        log_group_prefix=prefix,
        files_bucket=s.files_bucket,
        backup_bucket=s.backup_bucket,
        tfstate_bucket=s.tfstate_bucket,
        tfstate_key=s.tfstate_key,
        opensearch_domain=s.opensearch_domain,
        cache_cluster=s.cache_cluster,
        broker_name=s.broker_name,
        records=s.twin_size,
    )
