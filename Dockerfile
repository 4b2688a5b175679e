# One image for every process of the product: web (gunicorn), Celery worker and Celery beat.
# docker-compose.yml runs them; the image itself starts the web process.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=crm.settings.production \
    DJANGO_MEDIA_ROOT=/app/media

WORKDIR /app
# A home of its own: gunicorn keeps its control socket there.
RUN groupadd --system crm \
    && useradd --system --gid crm --create-home --home-dir /home/crm --shell /usr/sbin/nologin crm

# The dependencies first, from the runtime lock alone (`make lock`: the versions CI ran, with their
# hashes), so that a change of code reuses this layer.
COPY requirements.txt ./
RUN pip install --require-hashes -r requirements.txt

# Then the project, installed in place and without dependencies (all come from the lock):
# settings find templates/ and locale/ beside the code.
COPY . .
# A throwaway key and Redis address for the build steps only (neither is used by them): production
# settings refuse to start without either, and the real ones come from the environment at run time.
ARG BUILD_SECRET_KEY=build-only-not-a-secret-used-for-collectstatic-0123456789
ARG BUILD_REDIS_URL=redis://build-only.invalid:6379/0
RUN pip install --no-deps -e . \
    && DJANGO_SECRET_KEY="$BUILD_SECRET_KEY" REDIS_URL="$BUILD_REDIS_URL" python manage.py collectstatic --noinput \
    && if [ -n "$(find locale -name '*.po' 2>/dev/null)" ]; then \
         apt-get update && apt-get install -y --no-install-recommends gettext \
         && DJANGO_SECRET_KEY="$BUILD_SECRET_KEY" REDIS_URL="$BUILD_REDIS_URL" python manage.py compilemessages \
         && apt-get purge -y gettext && apt-get autoremove -y && rm -rf /var/lib/apt/lists/*; \
       fi \
    && rm -rf var \
    && mkdir -p var media \
    && chown -R crm:crm var media

USER crm
EXPOSE 8000
# WEB_CONCURRENCY sets the number of gunicorn workers (gunicorn reads it itself).
CMD ["gunicorn", "crm.wsgi:application", "--bind", "0.0.0.0:8000", "--access-logfile", "-", "--timeout", "60"]
