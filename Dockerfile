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

# The dependencies first, read from pyproject.toml alone, so that a change of code reuses this layer.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# Then the project, installed in place: settings find templates/ and locale/ beside the code.
COPY . .
# A throwaway key for the build steps only: production settings refuse to start without a key,
# and the real one comes from the environment at run time.
ARG BUILD_SECRET_KEY=build-only-not-a-secret-used-for-collectstatic-0123456789
RUN pip install --no-deps -e . \
    && DJANGO_SECRET_KEY="$BUILD_SECRET_KEY" python manage.py collectstatic --noinput \
    && if [ -n "$(find locale -name '*.po' 2>/dev/null)" ]; then \
         apt-get update && apt-get install -y --no-install-recommends gettext \
         && DJANGO_SECRET_KEY="$BUILD_SECRET_KEY" python manage.py compilemessages \
         && apt-get purge -y gettext && apt-get autoremove -y && rm -rf /var/lib/apt/lists/*; \
       fi \
    && rm -rf var \
    && mkdir -p var media \
    && chown -R crm:crm var media

USER crm
EXPOSE 8000
# WEB_CONCURRENCY sets the number of gunicorn workers (gunicorn reads it itself).
CMD ["gunicorn", "crm.wsgi:application", "--bind", "0.0.0.0:8000", "--access-logfile", "-", "--timeout", "60"]
