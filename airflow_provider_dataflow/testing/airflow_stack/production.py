"""The topology teams run in production, on one machine: PostgreSQL, CeleryExecutor on Redis with two
Celery workers, two schedulers, two triggerers, an api-server and a dag-processor.

It is where triggers move between triggerers, workers die mid-task and schedulers restart; fault tests
kill its components by name (``triggerer-1``, ``worker-2``, ``scheduler-1``, ...).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

from airflow_provider_dataflow.testing.airflow_stack.database import PostgresCluster
from airflow_provider_dataflow.testing.airflow_stack.executor import RedisServer, celery_config, celery_worker_args
from airflow_provider_dataflow.testing.airflow_stack.stack import AirflowStack


class ProductionStack(AirflowStack):
    """Two of each component that runs replicated in production, on a throw-away PostgreSQL and Redis.

    ``worker_concurrency`` is the task slots of each Celery worker. Sizing for two cores: every process
    here holds ~150-300 MB, the api-server runs one uvicorn worker, and each SQLAlchemy pool stays small,
    so the whole stack fits in ~3 GB.
    """

    def __init__(
        self,
        home: Path,
        dags_folder: Path,
        env: Mapping[str, str] | None = None,
        extra_config: Mapping[str, str] | None = None,
        python: str = sys.executable,
        worker_concurrency: int = 4,
    ) -> None:
        super().__init__(home, dags_folder, env, extra_config, python)
        self.worker_concurrency = worker_concurrency
        self.postgres = PostgresCluster()
        self.redis = RedisServer()

    def components(self) -> dict[str, list[str]]:
        # Replicas share one log-server port, so none serves logs: the api-server reads the shared folder.
        return {
            "api-server": ["api-server", "--workers", "1"],
            "dag-processor": ["dag-processor"],
            "scheduler-1": ["scheduler", "--skip-serve-logs"],
            "scheduler-2": ["scheduler", "--skip-serve-logs"],
            "triggerer-1": ["triggerer", "--skip-serve-logs"],
            "triggerer-2": ["triggerer", "--skip-serve-logs"],
            "worker-1": celery_worker_args("worker-1", self.worker_concurrency),
            "worker-2": celery_worker_args("worker-2", self.worker_concurrency),
        }

    def topology_config(self) -> dict[str, str]:
        return {
            **celery_config(
                broker_url=self.redis.url,
                result_backend=f"db+{self.postgres.sqlalchemy_url}",
                concurrency=self.worker_concurrency,
            ),
            "database.sql_alchemy_conn": self.postgres.sqlalchemy_url,
            # Eight processes and their task runners share one server: small pools.
            "database.sql_alchemy_pool_size": "3",
            "database.sql_alchemy_max_overflow": "5",
            "core.parallelism": str(2 * self.worker_concurrency),
        }

    def start_services(self) -> None:
        self.postgres.start()
        self.redis.start()

    def stop_services(self) -> None:
        self.redis.stop()
        self.postgres.stop()
