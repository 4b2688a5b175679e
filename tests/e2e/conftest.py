"""One Chromium for a whole test module: a launch costs about a second, a context a few
milliseconds, so a module's tests each open their own context in the browser this fixture keeps."""

import pytest

from tests.e2e.browser import chromium


@pytest.fixture(scope="module")
def module_browser():
    # a module-scoped fixture cannot take the function-scoped `monkeypatch`; its own patcher undoes
    # DJANGO_ALLOW_ASYNC_UNSAFE when the module is done
    with pytest.MonkeyPatch.context() as patcher, chromium(patcher) as browser:
        yield browser
