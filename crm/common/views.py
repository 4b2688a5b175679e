from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_safe


@login_required
@require_safe
def home(request):
    """The landing page. Its figures come from the `home_dashboard` template tag of managers: the
    common package sits below every app and must not import them."""
    return render(request, "home.html")
