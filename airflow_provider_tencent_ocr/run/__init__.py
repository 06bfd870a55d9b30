"""The run engine: pacing, concurrency, retries and the runner over one manifest. No Airflow imports."""
