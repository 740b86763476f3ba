# syntax=docker/dockerfile:1
# lifecircle on the official Airflow image (used by docker-compose.yaml for every Airflow service).
#
#   docker compose build            # or: docker build -t lifecircle-airflow:latest .
#
# How the dependencies get in, and why this way:
# * uv.lock is the source of truth. A throw-away stage turns it into a plain, fully pinned
#   requirements file (`uv export --frozen`: the lock is read as is, never re-resolved).
# * The official image installs Airflow with pip into the `airflow` user's site-packages, and
#   its docs warn that an unconstrained `pip install` can silently up/downgrade Airflow. So we
#   install with `pip install --no-deps -r requirements.txt`: no resolver runs, every package
#   gets exactly the locked version, nothing outside the lock is pulled in. The lock pins
#   apache-airflow==3.3.2, the very version of the base image, so Airflow itself is left alone
#   (pip sees it is already satisfied); the check after the install fails the build otherwise.
# * The project is then installed with `--no-deps` too (its dependencies are all in the lock).
# * uv itself stays out of the runtime image.

# The Airflow version of the base image and of uv.lock (must agree; checked below).
ARG EXPECTED_AIRFLOW_VERSION=3.3.2
ARG UV_VERSION=0.13.9

# ---------------------------------------------------------------- locked requirements
FROM python:3.11-slim AS requirements
ARG UV_VERSION
RUN pip install --no-cache-dir "uv==${UV_VERSION}"
WORKDIR /src
COPY pyproject.toml uv.lock ./
RUN uv export --frozen --no-dev --no-hashes --no-emit-project --output-file /requirements.txt

# ---------------------------------------------------------------- runtime
FROM apache/airflow:3.3.2-python3.11
ARG EXPECTED_AIRFLOW_VERSION

ENV LIFECIRCLE_HOME=/opt/lifecircle \
    LIFECIRCLE_STATE_DIR=/opt/lifecircle/data

# Mount points of the named volumes in docker-compose.yaml (data, logs, auth): created here
# owned by airflow:0 and group-writable, so a fresh volume starts with these rights and no
# service needs root (the image runs as any UID in group 0, see AIRFLOW_UID).
USER root
RUN mkdir -p /opt/lifecircle/data /opt/airflow/logs /opt/airflow/auth \
 && chown -R airflow:0 /opt/lifecircle /opt/airflow/logs /opt/airflow/auth \
 && chmod -R g+rwX /opt/lifecircle /opt/airflow/logs /opt/airflow/auth
USER airflow

COPY --from=requirements /requirements.txt /opt/lifecircle/requirements.txt
RUN pip install --no-cache-dir --no-deps -r /opt/lifecircle/requirements.txt \
 && test "$(python -c 'import airflow; print(airflow.__version__)')" = "${EXPECTED_AIRFLOW_VERSION}"
# The base image preinstalls many providers the project does not use; after the --no-deps
# install their own requirements are no longer guaranteed, and Airflow discovers every
# installed provider. Remove the providers that are not in the lock, so the providers Airflow
# sees are exactly the locked ones (add a provider to pyproject.toml to keep it).
RUN pip freeze | grep -oiE '^apache-airflow-providers-[a-z0-9-]+' | tr '[:upper:]' '[:lower:]' | sort -u > /tmp/installed \
 && grep -oiE '^apache-airflow-providers-[a-z0-9-]+' /opt/lifecircle/requirements.txt | tr '[:upper:]' '[:lower:]' | sort -u > /tmp/locked \
 && comm -23 /tmp/installed /tmp/locked | xargs -r pip uninstall -y \
 && rm /tmp/installed /tmp/locked

# The package (README.md is needed by the build backend: pyproject's `readme`).
COPY --chown=airflow:0 pyproject.toml uv.lock README.md /opt/lifecircle/
COPY --chown=airflow:0 src/ /opt/lifecircle/src/
RUN pip install --no-cache-dir --no-deps /opt/lifecircle \
 && python -c 'import lifecircle.settings, lifecircle.cli' \
 && test "$(python -c 'import airflow; print(airflow.__version__)')" = "${EXPECTED_AIRFLOW_VERSION}"

# Reference data, SQL and GX suites: read through LIFECIRCLE_HOME (settings.repo_root()).
COPY --chown=airflow:0 config/ /opt/lifecircle/config/
COPY --chown=airflow:0 include/ /opt/lifecircle/include/
COPY --chown=airflow:0 expectations/ /opt/lifecircle/expectations/

# DAGs and the reports plugin are baked in too, so the image runs without bind mounts;
# docker-compose.yaml mounts ./dags and ./plugins over them for quick iteration.
COPY --chown=airflow:0 dags/ /opt/airflow/dags/
COPY --chown=airflow:0 plugins/ /opt/airflow/plugins/
