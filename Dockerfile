# MAML, explained: the whole app in one image that works offline (see the README, "Docker").
#
#   docker build -t maml-explained .
#   docker run -p 8000:8000 -v maml-data:/data maml-explained
#
# Needs BuildKit (docker buildx, the default builder of Docker 23+ clients that have the buildx
# plugin; Docker 20.10-22: DOCKER_BUILDKIT=1) and a network (--network host on an engine
# without a bridge network). Without either it stops at its first RUN, naming the cause.
# The Python packages are exactly those of requirements.lock (versions and SHA-256 hashes;
# bash scripts/lock refreshes it).
# Build arguments:
#   TORCH_INDEX_URL    where the CPU-only PyTorch wheel comes from, unless a matching
#                      wheels/torch-<version>+cpu-*.whl lies in the build context
#   PIP_INDEX_URL      a package index to use instead of PyPI (a private mirror), and
#   PIP_EXTRA_INDEX_URL  more indexes (space-separated); both are pip's own settings, and
#                      only the build stage declares them, so the image does not record them
#   OMNIGLOT_BASE_URL  where images_background.zip is downloaded from (md5-checked) unless
#                      data/omniglot/images_background.zip lies in the build context
# Build secret:
#   ca                 an extra CA bundle (PEM) for TLS-intercepting proxies, trusted by
#                      every download of the build and not kept in the image:
#                      docker build --secret id=ca,src=corp-ca.pem -t maml-explained .

ARG DEBIAN_IMAGE=debian:bookworm-slim

# ---------------------------------------------------------------------------------------------
# Python 3.11 from Debian: what both the build and the final image start from.
FROM ${DEBIAN_IMAGE} AS python
ARG DEBIAN_FRONTEND=noninteractive
# Debian's own versions of these packages are wanted, security updates included, so they
# are not pinned. The package lists live in a build cache, never in a layer. That cache mount
# also makes the old builder stop here, before anything else, with "the --mount option
# requires BuildKit"; and a build without a network stops at apt-get update (which, without
# --error-on=any, would carry on and fail later with "Unable to locate package python3").
# hadolint ignore=DL3008
RUN --mount=type=cache,target=/var/lib/apt/lists,sharing=locked \
    if ! apt-get update --error-on=any; then \
      echo "The build cannot download Debian's package lists: it has no network." \
        "On an engine without a bridge network, build with --network host; behind a proxy," \
        "add --build-arg HTTP_PROXY=... (see the README, section Docker)." >&2; \
      exit 1; \
    fi \
 && apt-get install -y --no-install-recommends python3 ca-certificates \
 && apt-get clean

# ---------------------------------------------------------------------------------------------
# The build: a virtual environment with the dependencies, Omniglot and its preprocessed cache.
FROM python AS build
ARG DEBIAN_FRONTEND=noninteractive
# hadolint ignore=DL3008
RUN --mount=type=cache,target=/var/lib/apt/lists,sharing=locked \
    apt-get update --error-on=any \
 && apt-get install -y --no-install-recommends python3-venv \
 && apt-get clean

# Every step that downloads starts by adding the secret "ca", when given, to the system's
# CA store, which pip and Python's urllib then trust.
ENV PATH=/opt/venv/bin:$PATH \
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt \
    REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python3 -m venv /opt/venv

# The dependencies as requirements.lock pins them, each file checked against its hashes:
# PyTorch's CPU build from wheels/ in the build context when a wheel of the locked version lies
# there (then TORCH_INDEX_URL is not asked at all), else from TORCH_INDEX_URL; everything else
# from PyPI, or PIP_INDEX_URL and PIP_EXTRA_INDEX_URL, which pip reads from the environment.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ARG PIP_INDEX_URL
ARG PIP_EXTRA_INDEX_URL
COPY wheel[s] /tmp/wheels/
COPY requirements.lock /tmp/build/
RUN --mount=type=secret,id=ca --mount=type=cache,target=/root/.cache/pip \
    if [ -s /run/secrets/ca ]; then \
      cp /run/secrets/ca /usr/local/share/ca-certificates/build-extra-ca.crt \
      && update-ca-certificates; \
    fi \
 && torch="$(sed -nE 's/^torch==([^ ]+) .*/\1/p' /tmp/build/requirements.lock)" \
 && set -- /tmp/wheels/torch-"$torch"-*.whl \
 && if [ -f "$1" ]; then \
      echo "PyTorch from the build context: $1" \
      && set -- --find-links /tmp/wheels; \
    else \
      echo "PyTorch from $TORCH_INDEX_URL" \
      && set -- --extra-index-url "$TORCH_INDEX_URL"; \
    fi \
 && pip install --require-hashes "$@" -r /tmp/build/requirements.lock \
 && python -c 'import torch; assert torch.version.cuda is None, "not the CPU build: " + torch.__version__'

# What the CPU wheel ships for C++ work, none of which runs here (the image has no compiler):
# C++ test programs (torch/test, torch/bin/test_*, *Test), protoc and the C++ headers, ~190 MB.
RUN torch=/opt/venv/lib/python3.11/site-packages/torch \
 && rm -rf "$torch"/test "$torch"/include "$torch"/bin/protoc* "$torch"/bin/test_* "$torch"/bin/*Test \
 && python -c 'import torch; x = torch.ones(3, requires_grad=True); torch.func.vmap(torch.sin)(x).sum().backward(); print("torch", torch.__version__, "works")'

# Omniglot's background set: from the build context when it is there, else downloaded and
# md5-checked. Modification times are cut to whole seconds, which image layers keep exactly,
# because they are part of the preprocessed cache's key.
ARG OMNIGLOT_BASE_URL=https://github.com/brendenlake/omniglot/raw/master/python
ARG OMNIGLOT_MD5=68d2efa1b9178cc56df9314c21c6e718
# (The brackets make each part a wildcard, so that a context without the folder is fine.)
COPY dat[a]/omniglo[t]/images_*.zi[p] /opt/maml/omniglot/
COPY app/meta/tasks/omniglot_download.py /tmp/build/
RUN --mount=type=secret,id=ca \
    if [ -s /run/secrets/ca ]; then \
      cp /run/secrets/ca /usr/local/share/ca-certificates/build-extra-ca.crt \
      && update-ca-certificates; \
    fi \
 && if [ ! -f /opt/maml/omniglot/images_background.zip ]; then \
      python -c 'import sys; sys.path.insert(0, "/tmp/build"); from pathlib import Path; from omniglot_download import ensure_file; ensure_file(Path(sys.argv[1]), sys.argv[2], sys.argv[3])' \
        /opt/maml/omniglot/images_background.zip "$OMNIGLOT_MD5" "$OMNIGLOT_BASE_URL"; \
    fi \
 && for zip in /opt/maml/omniglot/*.zip; do touch -m -d "@$(stat -c %Y "$zip")" "$zip"; done

# Preprocess once now (structure checked, 28×28 images, packed originals), not at start-up.
COPY app/ /opt/maml/app/
WORKDIR /opt/maml
RUN python -c 'from pathlib import Path; from app.meta.tasks.omniglot import load_omniglot; load_omniglot(Path("omniglot"), Path("cache"), base_url=None)'

# ---------------------------------------------------------------------------------------------
# The app: code, templates, static files and trained models, read-only, run by a non-root
# user whose writable data (the quiz's SQLite database) lives in the volume /data.
FROM python
LABEL org.opencontainers.image.title="MAML, explained" \
      org.opencontainers.image.description="An interactive article on model-agnostic meta-learning whose figures are computed by PyTorch while you read" \
      org.opencontainers.image.licenses="MIT"
RUN groupadd --system --gid 10001 maml \
 && useradd --system --no-log-init --uid 10001 --gid maml --home-dir /data \
      --shell /usr/sbin/nologin maml \
 && mkdir /data \
 && chown maml:maml /data

COPY --from=build /opt/venv /opt/venv
COPY --from=build /opt/maml/omniglot /opt/maml/omniglot
# The cache is the user's so that a different Omniglot (MAML_OMNIGLOT_DIR) can still be
# preprocessed, into the container's own layer.
COPY --from=build --chown=maml:maml /opt/maml/cache /opt/maml/cache
COPY models/ /opt/maml/models/
COPY templates/ /opt/maml/templates/
COPY static/ /opt/maml/static/
COPY app/ /opt/maml/app/

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/opt/maml \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    MAML_HOST=0.0.0.0 \
    MAML_PORT=8000 \
    MAML_DATA_DIR=/data \
    MAML_CACHE_DIR=/opt/maml/cache \
    MAML_OMNIGLOT_DIR=/opt/maml/omniglot \
    MAML_MODELS_DIR=/opt/maml/models

# Compile the app's bytecode (its files are read-only at run time), compress the static assets
# into the cache (gzip and brotli, once: app/web/assets.py) and make sure the preprocessed cache
# still matches the copied zips, so the container starts without redoing either.
WORKDIR /opt/maml
RUN python -m compileall -q app \
 && python -m app.web.assets > /dev/null \
 && python -c 'from pathlib import Path; from app.meta.tasks.omniglot import cache_key; key = cache_key(sorted(Path("omniglot").glob("images_*.zip"))); assert Path(f"cache/omniglot-{key}.npz").is_file(), "the Omniglot cache does not match the zips"'

USER 10001:10001
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('MAML_PORT', '8000'), timeout=4)"]
CMD ["python", "-m", "app", "serve"]
