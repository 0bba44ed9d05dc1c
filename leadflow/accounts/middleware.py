from django.contrib.auth.middleware import LoginRequiredMiddleware as DjangoLoginRequired

# Deliberately public: the health check, the machine API (it authenticates with its own keys
# and answers 401, never a redirect), static files, and the URLs customers paste into their
# own sites and emails (PRODUCT.md: /p/, /f/, /t/, /e/), and /in/ where other tools push leads
# (authenticated by each source's own secret).
PUBLIC_PREFIXES = ("/healthz", "/api/", "/static/", "/p/", "/f/", "/t/", "/e/", "/in/")


class LoginRequiredMiddleware(DjangoLoginRequired):
    """Every page needs a signed-in user unless it is public on purpose."""

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.path.startswith(PUBLIC_PREFIXES):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)
