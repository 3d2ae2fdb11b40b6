"""Account, notification centre and e-mail link URLs (included at the site root)."""

from django.urls import URLPattern, URLResolver, path

from notifications import views

app_name = "notifications"

urlpatterns: list[URLPattern | URLResolver] = [
    path("account/", views.account, name="account"),
    path("account/verify-email/resend/", views.resend_verification, name="verify-resend"),
    path("account/verify-email/<str:token>/", views.verify_email, name="verify-email"),
    path("account/password/", views.PasswordChangeView.as_view(), name="password-change"),
    path("account/password-reset/", views.PasswordResetView.as_view(), name="password-reset"),
    path("account/password-reset/sent/", views.PasswordResetDoneView.as_view(), name="password-reset-done"),
    path(
        "account/reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password-reset-confirm",
    ),
    path("account/reset/done/", views.PasswordResetCompleteView.as_view(), name="password-reset-complete"),
    path("notifications/", views.centre_page, name="centre"),
    path("notifications/read-all/", views.mark_all_read, name="read-all"),
    path("notifications/<int:pk>/read/", views.mark_read, name="read"),
    path("notifications/unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
]
