from django.urls import path

from accounts import oidc, views

app_name = "accounts"

urlpatterns = [
    path("login/", views.SignInView.as_view(), name="login"),
    path("logout/", views.sign_out, name="logout"),
    # single sign-on (OpenID Connect): 404 while it is not configured
    path("oidc/authenticate/", oidc.AuthenticationRequestView.as_view(), name="oidc_authenticate"),
    path("oidc/callback/", oidc.CallbackView.as_view(), name="oidc_callback"),
]
