def current_organization(request):
    """`membership` and `organizations` for the page header's organisation switcher."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    membership = getattr(request, "membership", None)
    return {
        "membership": membership if membership else None,
        "user_memberships": user.memberships.select_related("organization").order_by("organization__name"),
    }
