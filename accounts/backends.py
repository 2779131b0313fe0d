"""Email and password sign-in, case-insensitive, refused for inactive users and companies."""

from django.contrib.auth.backends import ModelBackend

from accounts.models import User


class EmailBackend(ModelBackend):
    def user_can_authenticate(self, user: User) -> bool:
        if not user.is_active:
            return False
        return user.company_id is None or user.company.is_active

    def get_user(self, user_id: int) -> User | None:
        try:
            user = User.objects.select_related("company").get(pk=user_id)
        except User.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
